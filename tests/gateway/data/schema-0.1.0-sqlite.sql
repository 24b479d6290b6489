-- The schema gridmirror 0.1.0 (before migrations) made with create_all on sqlite.

-- Frozen: the DDL SQLAlchemy emitted for the models of that release.

CREATE TABLE authority_key (
	id INTEGER NOT NULL,
	name VARCHAR(64) NOT NULL,
	public_key VARCHAR(44) NOT NULL,
	created_at FLOAT NOT NULL,
	revoked_at FLOAT,
	PRIMARY KEY (id),
	UNIQUE (name),
	UNIQUE (public_key)
);

CREATE TABLE chain_meter (
	lfdi VARCHAR(40) NOT NULL,
	address VARCHAR(44) NOT NULL,
	owner VARCHAR(44) NOT NULL,
	token_account VARCHAR(44) NOT NULL,
	rated_power_w BIGINT NOT NULL,
	lookup_table VARCHAR(44),
	owner_source VARCHAR(16) NOT NULL,
	registered_at FLOAT NOT NULL,
	PRIMARY KEY (lfdi)
);

CREATE TABLE chain_tx (
	id INTEGER NOT NULL,
	kind VARCHAR(16) NOT NULL,
	signature VARCHAR(88) NOT NULL,
	raw BLOB NOT NULL,
	last_valid_block_height BIGINT NOT NULL,
	state VARCHAR(16) NOT NULL,
	worker VARCHAR(64) NOT NULL,
	created_at FLOAT NOT NULL,
	resolved_at FLOAT,
	readings INTEGER NOT NULL,
	epoch BIGINT,
	slot BIGINT,
	batch BIGINT,
	merkle_root VARCHAR(64),
	compute_units BIGINT,
	error VARCHAR,
	PRIMARY KEY (id),
	UNIQUE (signature)
);

CREATE INDEX ix_chain_tx_state ON chain_tx (state, kind);

CREATE TABLE end_device (
	id INTEGER NOT NULL,
	lfdi VARCHAR(40) NOT NULL,
	sfdi BIGINT NOT NULL,
	changed_time BIGINT NOT NULL,
	enabled BOOLEAN,
	device_category BIGINT,
	registered_at BIGINT NOT NULL,
	pin INTEGER NOT NULL,
	via VARCHAR(16) NOT NULL,
	device_information VARCHAR,
	PRIMARY KEY (id),
	UNIQUE (lfdi)
);

CREATE TABLE epoch_clearing (
	epoch BIGINT NOT NULL,
	settled INTEGER NOT NULL,
	minted_wh BIGINT NOT NULL,
	transactions INTEGER NOT NULL,
	forced BOOLEAN NOT NULL,
	cleared_at FLOAT NOT NULL,
	PRIMARY KEY (epoch)
);

CREATE TABLE lease (
	"key" VARCHAR(40) NOT NULL,
	holder VARCHAR(64),
	expires_at FLOAT NOT NULL,
	PRIMARY KEY ("key")
);

CREATE TABLE lookup_table (
	address VARCHAR(44) NOT NULL,
	created_at FLOAT NOT NULL,
	PRIMARY KEY (address)
);

CREATE TABLE meter_owner (
	lfdi VARCHAR(40) NOT NULL,
	wallet VARCHAR(44) NOT NULL,
	set_at FLOAT NOT NULL,
	PRIMARY KEY (lfdi)
);

CREATE TABLE mirror_usage_point (
	id INTEGER NOT NULL,
	mrid VARCHAR(32) NOT NULL,
	owner_lfdi VARCHAR(40) NOT NULL,
	device_lfdi VARCHAR(40) NOT NULL,
	role_flags INTEGER NOT NULL,
	service_category_kind INTEGER NOT NULL,
	status INTEGER NOT NULL,
	description VARCHAR(32),
	version INTEGER,
	settles BOOLEAN NOT NULL,
	post_rate INTEGER,
	created_at FLOAT NOT NULL,
	updated_at FLOAT NOT NULL,
	deleted_at FLOAT,
	PRIMARY KEY (id)
);

CREATE INDEX ix_mirror_usage_point_device_lfdi ON mirror_usage_point (device_lfdi);

CREATE INDEX ix_mirror_usage_point_owner_lfdi ON mirror_usage_point (owner_lfdi);

CREATE UNIQUE INDEX uq_mirror_live_mrid ON mirror_usage_point (mrid) WHERE deleted_at IS NULL;

CREATE TABLE outbox (
	id INTEGER NOT NULL,
	lfdi VARCHAR(40) NOT NULL,
	timestamp BIGINT NOT NULL,
	import_wh BIGINT NOT NULL,
	export_wh BIGINT NOT NULL,
	state VARCHAR(16) NOT NULL,
	attempts INTEGER NOT NULL,
	next_attempt_at FLOAT NOT NULL,
	accepted_at FLOAT NOT NULL,
	last_error VARCHAR,
	tx_id INTEGER,
	tx_position INTEGER,
	signature VARCHAR(88),
	slot BIGINT,
	batch BIGINT,
	chain_status INTEGER,
	batch_root VARCHAR(64),
	leaf_index INTEGER,
	proof VARCHAR,
	confirmed_at FLOAT,
	PRIMARY KEY (id),
	CONSTRAINT uq_outbox_lfdi_timestamp UNIQUE (lfdi, timestamp)
);

CREATE INDEX ix_outbox_lfdi ON outbox (lfdi);

CREATE INDEX ix_outbox_open_lfdi_time ON outbox (lfdi, timestamp) WHERE state IN ('pending', 'in_flight', 'dead');

CREATE INDEX ix_outbox_state_due ON outbox (state, next_attempt_at);

CREATE INDEX ix_outbox_tx ON outbox (tx_id);

CREATE TABLE settlement (
	id INTEGER NOT NULL,
	epoch BIGINT NOT NULL,
	lfdi VARCHAR(40) NOT NULL,
	owner VARCHAR(44) NOT NULL,
	import_wh BIGINT NOT NULL,
	export_wh BIGINT NOT NULL,
	import_delta_wh BIGINT NOT NULL,
	export_delta_wh BIGINT NOT NULL,
	net_export_wh BIGINT NOT NULL,
	minted_wh BIGINT NOT NULL,
	signature VARCHAR(88) NOT NULL,
	slot BIGINT NOT NULL,
	recorded_at FLOAT NOT NULL,
	PRIMARY KEY (id),
	CONSTRAINT uq_settlement_epoch_lfdi UNIQUE (epoch, lfdi)
);

CREATE INDEX ix_settlement_lfdi ON settlement (lfdi, epoch);

CREATE TABLE meter_reading (
	id INTEGER NOT NULL,
	mirror_id INTEGER NOT NULL,
	mrid VARCHAR(32) NOT NULL,
	description VARCHAR(32),
	version INTEGER,
	uom INTEGER,
	kind INTEGER,
	accumulation_behaviour INTEGER,
	flow_direction INTEGER,
	commodity INTEGER,
	data_qualifier INTEGER,
	phase INTEGER,
	power_of_ten INTEGER NOT NULL,
	energy_register VARCHAR(8),
	reading_type_xml VARCHAR NOT NULL,
	created_at FLOAT NOT NULL,
	superseded_at FLOAT,
	PRIMARY KEY (id),
	FOREIGN KEY(mirror_id) REFERENCES mirror_usage_point (id)
);

CREATE INDEX ix_meter_reading_mirror ON meter_reading (mirror_id, superseded_at);

CREATE UNIQUE INDEX uq_meter_reading_current_mrid ON meter_reading (mrid) WHERE superseded_at IS NULL;

CREATE TABLE signed_reading (
	id INTEGER NOT NULL,
	lfdi VARCHAR(40) NOT NULL,
	timestamp BIGINT NOT NULL,
	energy_generated_kwh VARCHAR(64) NOT NULL,
	energy_consumed_kwh VARCHAR(64) NOT NULL,
	solar_irradiance VARCHAR(64),
	temperature VARCHAR(64),
	metadata_json VARCHAR,
	import_mwh BIGINT NOT NULL,
	export_mwh BIGINT NOT NULL,
	key_id INTEGER NOT NULL,
	signature VARCHAR(88) NOT NULL,
	received_at FLOAT NOT NULL,
	PRIMARY KEY (id),
	CONSTRAINT uq_signed_reading_lfdi_time UNIQUE (lfdi, timestamp),
	FOREIGN KEY(key_id) REFERENCES authority_key (id),
	UNIQUE (signature)
);

CREATE TABLE reading_set (
	id INTEGER NOT NULL,
	meter_reading_id INTEGER NOT NULL,
	mrid VARCHAR(32) NOT NULL,
	description VARCHAR(32),
	version INTEGER,
	start BIGINT NOT NULL,
	duration BIGINT NOT NULL,
	PRIMARY KEY (id),
	CONSTRAINT uq_reading_set_mrid UNIQUE (meter_reading_id, mrid),
	FOREIGN KEY(meter_reading_id) REFERENCES meter_reading (id)
);

CREATE TABLE reading (
	id INTEGER NOT NULL,
	meter_reading_id INTEGER NOT NULL,
	reading_set_id INTEGER,
	mirror_id INTEGER NOT NULL,
	device_lfdi VARCHAR(40) NOT NULL,
	start BIGINT NOT NULL,
	duration BIGINT,
	value BIGINT,
	power_of_ten INTEGER NOT NULL,
	scaled VARCHAR(64),
	quality_flags INTEGER,
	local_id INTEGER,
	tou_tier INTEGER NOT NULL,
	consumption_block INTEGER NOT NULL,
	energy_register VARCHAR(8),
	wh BIGINT,
	received_at FLOAT NOT NULL,
	PRIMARY KEY (id),
	CONSTRAINT uq_reading_time UNIQUE (meter_reading_id, start, tou_tier, consumption_block),
	FOREIGN KEY(meter_reading_id) REFERENCES meter_reading (id),
	FOREIGN KEY(reading_set_id) REFERENCES reading_set (id),
	FOREIGN KEY(mirror_id) REFERENCES mirror_usage_point (id)
);

CREATE INDEX ix_reading_device_time ON reading (device_lfdi, start);

CREATE INDEX ix_reading_mirror_id ON reading (mirror_id);
