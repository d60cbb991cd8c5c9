DROP TRIGGER search_values_update;
DROP TRIGGER search_values_delete;
DROP TRIGGER search_values_insert;
DROP TABLE search_values;
DROP TABLE search_attributes;
