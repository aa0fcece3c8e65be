"""The landing contract as data: entities, columns, Chinese headers, types and enumerations.

Everything that reads, writes or checks a delivery (readers, generator, expectation
suites, docs) takes the contract from here, so there is one definition of it.
See ``docs/landing_contract.md`` for the prose.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import polars as pl

ENTITIES: tuple[str, ...] = ("villages", "households", "members", "assistance", "targets")
EXTENSIONS: tuple[str, ...] = ("csv", "xlsx", "parquet")
TIMEZONE = "Asia/Shanghai"

# <entity>_<source>[anything].<ext>; source is a 6-digit county code or "national".
FILE_NAME_RE = re.compile(
    r"^(?P<entity>villages|households|members|assistance|targets)"
    r"_(?P<source>\d{6}|national)(?P<rest>[^/\\]*)\.(?P<ext>csv|xlsx|parquet)$"
)
MANIFEST_NAME = "_manifest.json"

# CSV files: the encodings read (the name a read reports; the first is the canonical one)
# and the delimiters.
CSV_ENCODINGS: tuple[str, ...] = ("utf-8", "utf-8-sig", "gbk")
CSV_DELIMITERS: tuple[str, ...] = (",", "\t")

# Value patterns of the coded kinds, as the validation suites check typed values. Only
# [0-9]-style classes, so that DuckDB, Python and any Table Schema tool read them alike.
# 12 digits, township part 001-599, village part 001-399.
VILLAGE_CODE_PATTERN = (
    r"^[0-9]{6}(00[1-9]|0[1-9][0-9]|[1-5][0-9][0-9])(00[1-9]|0[1-9][0-9]|[1-3][0-9][0-9])$"
)
HOUSEHOLD_ID_PATTERN = r"^[0-9]{16}$"  # the village code and a 4-digit sequence
PROVINCE_CODE_PATTERN = r"^[0-9]{2}$"  # 00 for the nation


def _resident_id_pattern(check_chars: str) -> str:
    """17 digits and a check character, then, for a disability number, its category 1-7
    and grade 1-4."""
    return rf"^[0-9]{{17}}[{check_chars}]([1-7][1-4])?$"


ID_PATTERN = _resident_id_pattern("0-9X")

# The pattern a delivered value of each coded kind matches: typing upper-cases a resident
# ID, so a delivery may write its check character x.
DELIVERED_PATTERNS: dict[str, str] = {
    "code12": VILLAGE_CODE_PATTERN,
    "hh16": HOUSEHOLD_ID_PATTERN,
    "id18": _resident_id_pattern("0-9Xx"),
    "prov2": PROVINCE_CODE_PATTERN,
}


@dataclass(frozen=True)
class Column:
    name: str
    zh: str
    kind: str  # code12, hh16, id18, text, bool, int, money, number, date, timestamp, enum, causes
    required: bool = True
    pii: bool = False
    enum: tuple[tuple[str, str], ...] = ()  # (code, Chinese label)
    min_value: float | None = None
    max_value: float | None = None
    description: str = ""

    @property
    def enum_codes(self) -> tuple[str, ...]:
        return tuple(code for code, _ in self.enum)


@dataclass(frozen=True)
class Entity:
    name: str
    key: tuple[str, ...]
    columns: tuple[Column, ...]
    has_updated_at: bool = True
    parent: str | None = field(default=None)

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(f"{self.name} has no column {name!r}")

    @property
    def header_aliases(self) -> dict[str, str]:
        """Map every accepted header (English or Chinese) to the canonical English name."""
        aliases: dict[str, str] = {}
        for c in self.columns:
            aliases[c.name] = c.name
            aliases[c.zh] = c.name
        return aliases


CAUSES: tuple[tuple[str, str], ...] = (
    ("illness", "因病"),
    ("disability", "因残"),
    ("education", "因学"),
    ("disaster", "因灾"),
    ("land", "缺土地"),
    ("water", "缺水"),
    ("skills", "缺技术"),
    ("labour", "缺劳力"),
    ("funds", "缺资金"),
    ("transport", "交通条件落后"),
    ("motivation", "自身发展动力不足"),
    ("marriage", "因婚"),
    ("other", "其它"),
)
ATTRIBUTES = (
    ("general", "一般贫困户"),
    ("dibao_poor", "低保贫困户"),
    ("dibao", "低保户"),
    ("wubao", "五保户"),
)
HOUSEHOLD_STATUSES = (
    ("poor", "未脱贫"),
    ("lifted", "已脱贫"),
    ("returned", "返贫"),
    ("removed", "剔除"),
)
RELATIONS = (
    ("head", "户主"),
    ("spouse", "配偶"),
    ("child", "子女"),
    ("child_in_law", "儿媳女婿"),
    ("grandchild", "孙子女"),
    ("parent", "父母"),
    ("grandparent", "祖父母"),
    ("sibling", "兄弟姐妹"),
    ("other", "其他"),
)
SEXES = (("male", "男"), ("female", "女"))
EDUCATION = (
    ("illiterate", "文盲半文盲"),
    ("primary", "小学"),
    ("junior", "初中"),
    ("senior", "高中"),
    ("tertiary", "大专及以上"),
)
HEALTH = (
    ("healthy", "健康"),
    ("chronic", "长期慢性病"),
    ("serious", "患有大病"),
    ("disabled", "残疾"),
)
LABOUR = (
    ("ordinary", "普通劳动力"),
    ("skilled", "技能劳动力"),
    ("lost", "丧失劳动力"),
    ("none", "无劳动力"),
)
MEMBER_STATUSES = (("active", "在册"), ("left", "迁出"), ("deceased", "死亡"))
PROGRAMS = tuple(
    (p, p)
    for p in (
        "ecommerce_store",
        "ecommerce_training",
        "solar_pv",
        "paper_mulberry",
        "microcredit",
        "relocation",
        "vocational_training",
        "industry",
        "education_aid",
        "medical_aid",
        "employment",
        "other",
    )
)
TARGET_METRICS = tuple(
    (m, m) for m in ("people_lifted", "ecommerce_pilot_villages", "ecommerce_villages_cumulative")
)

# The English label of every Chinese label above (and of the codes delivered without one:
# programmes, target metrics), for analysts who read English: ref.code_labels holds both.
LABELS_EN: dict[str, str] = {
    # CAUSES
    "因病": "Illness",
    "因残": "Disability",
    "因学": "Education costs",
    "因灾": "Natural disaster",
    "缺土地": "Lack of land",
    "缺水": "Lack of water",
    "缺技术": "Lack of skills",
    "缺劳力": "Lack of labour",
    "缺资金": "Lack of funds",
    "交通条件落后": "Poor transport",
    "自身发展动力不足": "Lack of motivation",
    "因婚": "Marriage costs",
    "其它": "Other",
    # ATTRIBUTES
    "一般贫困户": "General poor household",
    "低保贫困户": "Poor household on minimum living allowance",
    "低保户": "Minimum living allowance household",
    "五保户": "Five-guarantees household",
    # HOUSEHOLD_STATUSES
    "未脱贫": "Poor",
    "已脱贫": "Lifted out of poverty",
    "返贫": "Returned to poverty",
    "剔除": "Removed (identified by mistake)",
    # RELATIONS
    "户主": "Head",
    "配偶": "Spouse",
    "子女": "Child",
    "儿媳女婿": "Child-in-law",
    "孙子女": "Grandchild",
    "父母": "Parent",
    "祖父母": "Grandparent",
    "兄弟姐妹": "Sibling",
    "其他": "Other",
    # SEXES
    "男": "Male",
    "女": "Female",
    # EDUCATION
    "文盲半文盲": "Illiterate or semi-literate",
    "小学": "Primary school",
    "初中": "Junior secondary",
    "高中": "Senior secondary",
    "大专及以上": "College or above",
    # HEALTH
    "健康": "Healthy",
    "长期慢性病": "Chronic illness",
    "患有大病": "Serious illness",
    "残疾": "Disabled",
    # LABOUR
    "普通劳动力": "Ordinary labour",
    "技能劳动力": "Skilled labour",
    "丧失劳动力": "Lost labour capacity",
    "无劳动力": "No labour capacity",
    # MEMBER_STATUSES
    "在册": "Active",
    "迁出": "Moved out",
    "死亡": "Deceased",
    # PROGRAMS (delivered as codes)
    "ecommerce_store": "E-commerce store",
    "ecommerce_training": "E-commerce training",
    "solar_pv": "Solar PV",
    "paper_mulberry": "Paper mulberry",
    "microcredit": "Microcredit",
    "relocation": "Relocation",
    "vocational_training": "Vocational training",
    "industry": "Industry",
    "education_aid": "Education aid",
    "medical_aid": "Medical aid",
    "employment": "Employment",
    "other": "Other",
    # TARGET_METRICS (delivered as codes)
    "people_lifted": "People lifted out of poverty",
    "ecommerce_pilot_villages": "E-commerce pilot villages",
    "ecommerce_villages_cumulative": "Villages reached by e-commerce (cumulative)",
}

TRUE_VALUES = frozenset({"true", "1", "是", "y", "yes", "t"})
FALSE_VALUES = frozenset({"false", "0", "否", "n", "no", "f"})

VILLAGES = Entity(
    name="villages",
    key=("village_code",),
    columns=(
        Column("village_code", "行政区划代码", "code12"),
        Column("village_name", "村名称", "text"),
        Column("is_poor_village", "是否贫困村", "bool"),
        Column("rural_population", "户籍人口", "int", min_value=0),
        Column("collective_income_yuan", "村集体经济收入", "money", required=False, min_value=0),
        Column("has_ecommerce_station", "是否有电商服务站", "bool"),
        Column(
            "ecommerce_pilot_year",
            "电商扶贫试点年份",
            "int",
            required=False,
            min_value=2014,
            max_value=2030,
        ),
        Column("solar_capacity_kw", "光伏装机容量", "number", required=False, min_value=0),
        Column("paper_mulberry_mu", "构树种植面积", "number", required=False, min_value=0),
        Column("updated_at", "更新时间", "timestamp"),
    ),
)

HOUSEHOLDS = Entity(
    name="households",
    key=("household_id",),
    parent="villages",
    columns=(
        Column("household_id", "户编号", "hh16"),
        Column("village_code", "行政区划代码", "code12"),
        Column("head_id_number", "户主身份证号", "id18", pii=True),
        Column("head_name", "户主姓名", "text", pii=True),
        Column("household_size", "家庭人口数", "int", min_value=1, max_value=20),
        Column("attribute", "贫困户属性", "enum", enum=ATTRIBUTES),
        Column("main_cause", "主要致贫原因", "enum", enum=CAUSES),
        Column("other_causes", "其他致贫原因", "causes", required=False, enum=CAUSES),
        Column("net_income_yuan", "家庭纯收入", "money"),
        Column("per_capita_income_yuan", "人均纯收入", "money"),
        Column("income_year", "收入年度", "int"),
        Column("food_clothing_secure", "不愁吃穿", "bool"),
        Column("housing_safe", "住房安全", "bool"),
        Column("drinking_water_safe", "饮水安全", "bool"),
        Column("status", "脱贫状态", "enum", enum=HOUSEHOLD_STATUSES),
        Column("identified_on", "识别日期", "date"),
        Column("status_changed_on", "状态变更日期", "date"),
        Column("sells_online", "是否电商销售", "bool"),
        Column("updated_at", "更新时间", "timestamp"),
    ),
)

MEMBERS = Entity(
    name="members",
    key=("id_number",),
    parent="households",
    columns=(
        Column("id_number", "身份证号", "id18", pii=True),
        Column("household_id", "户编号", "hh16"),
        Column("name", "姓名", "text", pii=True),
        Column("relation", "与户主关系", "enum", enum=RELATIONS),
        Column("sex", "性别", "enum", enum=SEXES),
        Column("birth_date", "出生日期", "date"),
        Column("education", "文化程度", "enum", required=False, enum=EDUCATION),
        Column("in_school", "在校生", "bool"),
        Column("health", "健康状况", "enum", enum=HEALTH),
        Column("labour", "劳动能力", "enum", enum=LABOUR),
        Column("medical_insured", "参加医疗保险", "bool"),
        Column("member_status", "成员状态", "enum", enum=MEMBER_STATUSES),
        Column("updated_at", "更新时间", "timestamp"),
    ),
)

ASSISTANCE = Entity(
    name="assistance",
    key=("event_id",),
    columns=(
        Column("event_id", "帮扶记录编号", "text"),
        Column("household_id", "户编号", "hh16", required=False),
        Column("village_code", "行政区划代码", "code12", required=False),
        Column("program", "帮扶项目", "enum", enum=PROGRAMS),
        Column("platform", "电商平台", "text", required=False),
        Column("event_date", "帮扶日期", "date"),
        Column("amount_yuan", "金额", "money", required=False, min_value=0),
        Column("updated_at", "更新时间", "timestamp"),
    ),
)

TARGETS = Entity(
    name="targets",
    key=("year", "province_code", "metric"),
    has_updated_at=False,
    columns=(
        Column("year", "年度", "int"),
        Column("province_code", "省级代码", "prov2"),
        Column("metric", "指标", "enum", enum=TARGET_METRICS),
        Column("target", "目标值", "int", min_value=0),
    ),
)

CONTRACT: dict[str, Entity] = {
    e.name: e for e in (VILLAGES, HOUSEHOLDS, MEMBERS, ASSISTANCE, TARGETS)
}


# Typed staging: the dtype each contract kind is stored as after ingestion.
# Money is exact (Decimal 18,2); timestamps are stored in UTC (a value without an offset
# is read as Asia/Shanghai); enumerations hold the English code; other_causes is the
# English codes joined with ";".
def staging_dtype(kind: str) -> pl.DataType:
    return {
        "bool": pl.Boolean(),
        "int": pl.Int64(),
        "money": pl.Decimal(18, 2),
        "number": pl.Float64(),
        "date": pl.Date(),
        "timestamp": pl.Datetime("us", "UTC"),
    }.get(kind, pl.String())


# Lineage columns every staged row carries besides the contract's columns.
LINEAGE: dict[str, pl.DataType] = {
    "_delivery_date": pl.Date(),
    "_file_name": pl.String(),
    "_row_number": pl.Int64(),  # data rows counted from 1, as in the answer key
    "_source": pl.String(),  # county code or "national"
}


def staging_schema(entity: str) -> pl.Schema:
    cols = {c.name: staging_dtype(c.kind) for c in CONTRACT[entity].columns}
    return pl.Schema({**cols, **LINEAGE})


def record_key(entity: str) -> pl.Expr:
    """The entity key as one string (compound keys joined with '|')."""
    key = CONTRACT[entity].key
    if len(key) == 1:
        return pl.col(key[0]).cast(pl.String)
    return pl.concat_str([pl.col(k).cast(pl.String) for k in key], separator="|")
