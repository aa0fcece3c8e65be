-- Province codes and their English names.
SELECT province_code, name_en FROM ref.provinces
