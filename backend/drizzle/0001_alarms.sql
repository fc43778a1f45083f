CREATE TABLE `alarm_recipients` (
	`alarm_id` varchar(36) NOT NULL,
	`user_id` varchar(36) NOT NULL,
	`tenant_id` varchar(36) NOT NULL,
	`stage` int NOT NULL DEFAULT 0,
	`alert_count` int NOT NULL DEFAULT 1,
	`sent_at` datetime(3) NOT NULL,
	`delivered_at` datetime(3),
	`read_at` datetime(3),
	`response` enum('coming','not_coming','later'),
	`eta_minutes` int,
	`responded_at` datetime(3),
	CONSTRAINT `alarm_recipients_alarm_id_user_id_pk` PRIMARY KEY(`alarm_id`,`user_id`)
);
--> statement-breakpoint
CREATE TABLE `alarm_templates` (
	`id` varchar(36) NOT NULL,
	`tenant_id` varchar(36) NOT NULL,
	`keyword` varchar(80) NOT NULL,
	`title` varchar(200) NOT NULL,
	`text` text NOT NULL,
	`priority` enum('normal','high','critical') NOT NULL,
	`targets` json NOT NULL,
	`requirements` json NOT NULL,
	`escalation` json,
	`sound` varchar(32) NOT NULL DEFAULT 'siren',
	`opens_chat` boolean NOT NULL DEFAULT false,
	`opens_ptt` boolean NOT NULL DEFAULT false,
	`created_at` datetime(3) NOT NULL,
	`updated_at` datetime(3) NOT NULL,
	CONSTRAINT `alarm_templates_id` PRIMARY KEY(`id`),
	CONSTRAINT `alarm_templates_keyword_uq` UNIQUE(`tenant_id`,`keyword`)
);
--> statement-breakpoint
CREATE TABLE `alarms` (
	`id` varchar(36) NOT NULL,
	`tenant_id` varchar(36) NOT NULL,
	`template_id` varchar(36),
	`keyword` varchar(80) NOT NULL,
	`title` varchar(200) NOT NULL,
	`text` text NOT NULL,
	`priority` enum('normal','high','critical') NOT NULL,
	`sound` varchar(32) NOT NULL,
	`is_test` boolean NOT NULL DEFAULT false,
	`all_hands` boolean NOT NULL DEFAULT false,
	`lat` double,
	`lon` double,
	`address` varchar(300) NOT NULL DEFAULT '',
	`targets` json NOT NULL,
	`requirements` json NOT NULL,
	`escalation` json,
	`escalation_stage` int NOT NULL DEFAULT 0,
	`escalate_at` datetime(3),
	`opens_chat` boolean NOT NULL DEFAULT false,
	`opens_ptt` boolean NOT NULL DEFAULT false,
	`source` varchar(16) NOT NULL,
	`external_id` varchar(200),
	`created_by` varchar(36),
	`created_at` datetime(3) NOT NULL,
	`updated_at` datetime(3) NOT NULL,
	`closed_at` datetime(3),
	`closed_by` varchar(36),
	`version` bigint unsigned NOT NULL,
	CONSTRAINT `alarms_id` PRIMARY KEY(`id`),
	CONSTRAINT `alarms_external_uq` UNIQUE(`tenant_id`,`external_id`)
);
--> statement-breakpoint
CREATE TABLE `member_availability` (
	`user_id` varchar(36) NOT NULL,
	`tenant_id` varchar(36) NOT NULL,
	`status` enum('available','limited','unavailable') NOT NULL,
	`until` datetime(3),
	`updated_at` datetime(3) NOT NULL,
	CONSTRAINT `member_availability_user_id` PRIMARY KEY(`user_id`)
);
--> statement-breakpoint
ALTER TABLE `tenants` ADD `alarm_version` bigint unsigned DEFAULT 0 NOT NULL;--> statement-breakpoint
CREATE INDEX `alarm_recipients_user_idx` ON `alarm_recipients` (`tenant_id`,`user_id`);--> statement-breakpoint
CREATE INDEX `alarms_tenant_created_idx` ON `alarms` (`tenant_id`,`created_at`);--> statement-breakpoint
CREATE INDEX `alarms_tenant_version_idx` ON `alarms` (`tenant_id`,`version`);--> statement-breakpoint
CREATE INDEX `alarms_escalate_idx` ON `alarms` (`escalate_at`);