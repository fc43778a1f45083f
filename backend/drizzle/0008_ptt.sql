CREATE TABLE `ptt_channels` (
	`id` varchar(36) NOT NULL,
	`tenant_id` varchar(36) NOT NULL,
	`name` varchar(80) NOT NULL,
	`members` json NOT NULL,
	`priority` boolean NOT NULL DEFAULT false,
	`recorded` boolean NOT NULL DEFAULT false,
	`max_talk_seconds` int NOT NULL DEFAULT 30,
	`alarm_id` varchar(36),
	`archived_at` datetime(3),
	`created_by` varchar(36),
	`created_at` datetime(3) NOT NULL,
	`updated_at` datetime(3) NOT NULL,
	CONSTRAINT `ptt_channels_id` PRIMARY KEY(`id`),
	CONSTRAINT `ptt_channels_alarm_uq` UNIQUE(`tenant_id`,`alarm_id`)
);
--> statement-breakpoint
CREATE TABLE `ptt_emergencies` (
	`id` varchar(36) NOT NULL,
	`tenant_id` varchar(36) NOT NULL,
	`channel_id` varchar(36) NOT NULL,
	`user_id` varchar(36) NOT NULL,
	`lat` double,
	`lon` double,
	`accuracy_m` int,
	`position_at` datetime(3),
	`raised_at` datetime(3) NOT NULL,
	`acknowledged_by` varchar(36),
	`acknowledged_at` datetime(3),
	CONSTRAINT `ptt_emergencies_id` PRIMARY KEY(`id`)
);
--> statement-breakpoint
CREATE TABLE `ptt_recordings` (
	`id` varchar(36) NOT NULL,
	`tenant_id` varchar(36) NOT NULL,
	`channel_id` varchar(36) NOT NULL,
	`talker_user_id` varchar(36) NOT NULL,
	`started_at` datetime(3) NOT NULL,
	`duration_ms` int NOT NULL,
	`bytes` bigint unsigned NOT NULL,
	`storage_path` varchar(500) NOT NULL,
	`created_at` datetime(3) NOT NULL,
	CONSTRAINT `ptt_recordings_id` PRIMARY KEY(`id`)
);
--> statement-breakpoint
ALTER TABLE `tenants` ADD `retention_recording_days` int DEFAULT 30 NOT NULL;--> statement-breakpoint
CREATE INDEX `ptt_channels_tenant_idx` ON `ptt_channels` (`tenant_id`,`archived_at`);--> statement-breakpoint
CREATE INDEX `ptt_emergencies_tenant_idx` ON `ptt_emergencies` (`tenant_id`,`raised_at`);--> statement-breakpoint
CREATE INDEX `ptt_emergencies_user_idx` ON `ptt_emergencies` (`tenant_id`,`user_id`);--> statement-breakpoint
CREATE INDEX `ptt_recordings_channel_idx` ON `ptt_recordings` (`tenant_id`,`channel_id`,`started_at`);--> statement-breakpoint
CREATE INDEX `ptt_recordings_at_idx` ON `ptt_recordings` (`tenant_id`,`started_at`);--> statement-breakpoint
CREATE INDEX `ptt_recordings_talker_idx` ON `ptt_recordings` (`tenant_id`,`talker_user_id`);