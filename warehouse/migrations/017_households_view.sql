-- core.households becomes a view: the current versions of core.households_history, which
-- the load writes with each head's key. The load used to copy those rows into a table of
-- their own after the history (its second write of every household: 1.0 s of the
-- province's day-one load, 27 s of the national one). The view has the table's columns,
-- in its order, and its comments; the published snapshot still holds a table
-- core.households (warehouse/publication/core.households.sql reads the view).
--
-- The table held exactly these rows (the load wrote it from them, on both paths), so the
-- upgrade changes no row that a reader of core.households sees.

DROP TABLE core.households;
CREATE VIEW core.households AS
SELECT household_id, village_code, province_code, county_code, head_id_number, head_name,
       household_size, "attribute", main_cause, other_causes, net_income_yuan,
       per_capita_income_yuan, income_year, food_clothing_secure, housing_safe,
       drinking_water_safe, status, identified_on, status_changed_on, sells_online,
       updated_at, delivery_date, file_name, row_number, effective_date, head_key
FROM core.households_history
WHERE is_current;
-- The table's comment, which the snapshot's table core.households carries (the post-load
-- check core_keys_unique proves one current version per household).
COMMENT ON VIEW core.households IS 'Grain: one row per household id, its current version. head_id_number and head_name are PII (internal only).';
COMMENT ON COLUMN core.households.household_id IS '户编号: 16-digit household id (village code + 4-digit sequence).';
COMMENT ON COLUMN core.households.village_code IS '行政区划代码: 12-digit statistical division code of the village (province 2 + prefecture 2 + county 2 + township 3 + village 3).';
COMMENT ON COLUMN core.households.province_code IS '2-digit province code (first 2 digits of the village code).';
COMMENT ON COLUMN core.households.county_code IS '6-digit county code (first 6 digits of the village code).';
COMMENT ON COLUMN core.households.head_id_number IS '户主身份证号: 18-character resident ID. PII: internal warehouse only, never published (analysts get a keyed hash).';
COMMENT ON COLUMN core.households.head_name IS '户主姓名: text. PII: internal warehouse only, never published (analysts get a keyed hash).';
COMMENT ON COLUMN core.households.household_size IS '家庭人口数: integer.';
COMMENT ON COLUMN core.households.attribute IS '贫困户属性: code (general, dibao_poor, dibao, wubao).';
COMMENT ON COLUMN core.households.main_cause IS '主要致贫原因: code (illness, disability, education, disaster, land, water, skills, labour, funds, transport, motivation, marriage, other).';
COMMENT ON COLUMN core.households.other_causes IS '其他致贫原因: codes separated by '';'' (illness, disability, education, disaster, land, water, skills, labour, funds, transport, motivation, marriage, other); optional.';
COMMENT ON COLUMN core.households.net_income_yuan IS '家庭纯收入: yuan, 2 decimals.';
COMMENT ON COLUMN core.households.per_capita_income_yuan IS '人均纯收入: yuan, 2 decimals.';
COMMENT ON COLUMN core.households.income_year IS '收入年度: integer.';
COMMENT ON COLUMN core.households.food_clothing_secure IS '不愁吃穿: true/false.';
COMMENT ON COLUMN core.households.housing_safe IS '住房安全: true/false.';
COMMENT ON COLUMN core.households.drinking_water_safe IS '饮水安全: true/false.';
COMMENT ON COLUMN core.households.status IS '脱贫状态: code (poor, lifted, returned, removed).';
COMMENT ON COLUMN core.households.identified_on IS '识别日期: date (Asia/Shanghai calendar day).';
COMMENT ON COLUMN core.households.status_changed_on IS '状态变更日期: date (Asia/Shanghai calendar day).';
COMMENT ON COLUMN core.households.sells_online IS '是否电商销售: true/false.';
COMMENT ON COLUMN core.households.updated_at IS '更新时间: timestamp with time zone (delivered in Asia/Shanghai when no offset was given).';
COMMENT ON COLUMN core.households.delivery_date IS 'Delivery date (Asia/Shanghai) of the file the version came from.';
COMMENT ON COLUMN core.households.file_name IS 'Name of the delivered file the version came from.';
COMMENT ON COLUMN core.households.row_number IS 'Data row of that file, counted from 1.';
COMMENT ON COLUMN core.households.effective_date IS 'Delivery date from which the version applies: its own delivery date, or for a parked row the date its parent (village or household) arrived.';
COMMENT ON COLUMN core.households.head_key IS 'Keyed hash (HMAC-SHA256 under the pseudonymisation secret, 32 hex) of head_id_number, computed by the load; published as head_key. NULL when head_id_number is.';
