-- Ids are handed out in memory from blocks: each nextval() reserves the next 100 values
-- atomically (src/storage/id-block.ts), so writers take no database round trip per event.
ALTER SEQUENCE stream_seq INCREMENT BY 100;
ALTER SEQUENCE events_event_nid_seq INCREMENT BY 100;
ALTER SEQUENCE state_nodes_node_id_seq INCREMENT BY 100;
