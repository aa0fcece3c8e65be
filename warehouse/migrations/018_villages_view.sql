-- core.villages becomes a view: the current versions of core.villages_history, as
-- core.households became one in 017. The load used to copy those rows into a table of
-- their own after the history (every village written twice: 18 k rows at province,
-- 448 k at national). The view has the table's columns, in its order, and its comments;
-- the published snapshot holds a view of its own history too (contract/publication.py).
--
-- The table held exactly these rows (the load wrote it from them, on both paths), so the
-- upgrade changes no row that a reader of core.villages sees.

DROP TABLE core.villages;
CREATE VIEW core.villages AS
SELECT village_code, province_code, county_code, village_name, is_poor_village,
       rural_population, collective_income_yuan, has_ecommerce_station, ecommerce_pilot_year,
       solar_capacity_kw, paper_mulberry_mu, updated_at, delivery_date, file_name, row_number,
       effective_date
FROM core.villages_history
WHERE is_current;
-- The table's comment (the post-load check core_keys_unique proves one current version
-- per village).
COMMENT ON VIEW core.villages IS 'Grain: one row per village code, its current version.';
COMMENT ON COLUMN core.villages.village_code IS '行政区划代码: 12-digit statistical division code of the village (province 2 + prefecture 2 + county 2 + township 3 + village 3).';
COMMENT ON COLUMN core.villages.province_code IS '2-digit province code (first 2 digits of the village code).';
COMMENT ON COLUMN core.villages.county_code IS '6-digit county code (first 6 digits of the village code).';
COMMENT ON COLUMN core.villages.village_name IS '村名称: text.';
COMMENT ON COLUMN core.villages.is_poor_village IS '是否贫困村: true/false.';
COMMENT ON COLUMN core.villages.rural_population IS '户籍人口: integer.';
COMMENT ON COLUMN core.villages.collective_income_yuan IS '村集体经济收入: yuan, 2 decimals; optional.';
COMMENT ON COLUMN core.villages.has_ecommerce_station IS '是否有电商服务站: true/false.';
COMMENT ON COLUMN core.villages.ecommerce_pilot_year IS '电商扶贫试点年份: integer; optional.';
COMMENT ON COLUMN core.villages.solar_capacity_kw IS '光伏装机容量: number, kW; optional.';
COMMENT ON COLUMN core.villages.paper_mulberry_mu IS '构树种植面积: number, mu (1/15 ha); optional.';
COMMENT ON COLUMN core.villages.updated_at IS '更新时间: timestamp with time zone (delivered in Asia/Shanghai when no offset was given).';
COMMENT ON COLUMN core.villages.delivery_date IS 'Delivery date (Asia/Shanghai) of the file the version came from.';
COMMENT ON COLUMN core.villages.file_name IS 'Name of the delivered file the version came from.';
COMMENT ON COLUMN core.villages.row_number IS 'Data row of that file, counted from 1.';
COMMENT ON COLUMN core.villages.effective_date IS 'Delivery date from which the version applies: its own delivery date, or for a parked row the date its parent (village or household) arrived.';
