DROP TABLE golden_search_attributes;
DROP TABLE golden_search;
