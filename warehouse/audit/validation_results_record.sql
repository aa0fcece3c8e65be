-- Records one expectation's result on one entity of the run's delivery date. Grain of
-- audit.validation_results: one row per (delivery date, suite, expectation).
INSERT INTO audit.validation_results (delivery_date, entity, suite, suite_version,
                                      expectation, severity, evaluated, failed, sample_keys)
VALUES ($delivery_date, $entity, $suite, $suite_version, $expectation, $severity, $evaluated,
        $failed, $sample_keys);
