CREATE TABLE `geofence_presence` (
	`geofence_id` varchar(36) NOT NULL,
	`user_id` varchar(36) NOT NULL,
	`tenant_id` varchar(36) NOT NULL,
	`inside` boolean NOT NULL,
	`since` datetime(3) NOT NULL,
	CONSTRAINT `geofence_presence_geofence_id_user_id_pk` PRIMARY KEY(`geofence_id`,`user_id`)
);
--> statement-breakpoint
CREATE TABLE `geofences` (
	`id` varchar(36) NOT NULL,
	`tenant_id` varchar(36) NOT NULL,
	`name` varchar(80) NOT NULL,
	`kind` enum('station','danger','operation','other') NOT NULL,
	`geometry` json NOT NULL,
	`status_text` varchar(60),
	`created_by` varchar(36),
	`created_at` datetime(3) NOT NULL,
	`updated_at` datetime(3) NOT NULL,
	CONSTRAINT `geofences_id` PRIMARY KEY(`id`),
	CONSTRAINT `geofences_name_uq` UNIQUE(`tenant_id`,`name`)
);
--> statement-breakpoint
CREATE TABLE `map_overlays` (
	`id` varchar(36) NOT NULL,
	`tenant_id` varchar(36) NOT NULL,
	`name` varchar(80) NOT NULL,
	`color` varchar(7),
	`visible_by_default` boolean NOT NULL DEFAULT true,
	`feature_count` int NOT NULL,
	`size_bytes` int NOT NULL,
	`data` json NOT NULL,
	`created_by` varchar(36),
	`created_at` datetime(3) NOT NULL,
	`updated_at` datetime(3) NOT NULL,
	CONSTRAINT `map_overlays_id` PRIMARY KEY(`id`),
	CONSTRAINT `map_overlays_name_uq` UNIQUE(`tenant_id`,`name`)
);
--> statement-breakpoint
CREATE INDEX `geofence_presence_user_idx` ON `geofence_presence` (`tenant_id`,`user_id`);