DROP TRIGGER search_values_sync ON golden_records;
DROP FUNCTION search_values_sync();
DROP FUNCTION search_values_same(golden_records, golden_records, TEXT);
DROP TABLE search_values;
DROP TABLE search_attributes;
