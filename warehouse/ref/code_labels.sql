-- One label of ref.code_labels (contract.reference.code_labels). Grain: (column_name, code).
INSERT INTO ref.code_labels VALUES ($column_name, $code, $label_zh, $label_en);
