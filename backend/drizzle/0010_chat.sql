CREATE TABLE `chat_blobs` (
	`id` varchar(36) NOT NULL,
	`tenant_id` varchar(36) NOT NULL,
	`conversation_id` varchar(36) NOT NULL,
	`uploader_user_id` varchar(36) NOT NULL,
	`uploader_device_id` varchar(36) NOT NULL,
	`size` int NOT NULL,
	`created_at` datetime(3) NOT NULL,
	CONSTRAINT `chat_blobs_id` PRIMARY KEY(`id`)
);
--> statement-breakpoint
CREATE TABLE `chat_conversations` (
	`id` varchar(36) NOT NULL,
	`tenant_id` varchar(36) NOT NULL,
	`kind` enum('direct','group','unit','alarm') NOT NULL,
	`title` varchar(120),
	`unit_id` varchar(36),
	`follow_unit` boolean NOT NULL DEFAULT false,
	`alarm_id` varchar(36),
	`direct_key` varchar(80),
	`retention_days` int,
	`epoch` bigint unsigned,
	`last_seq` bigint unsigned NOT NULL DEFAULT 0,
	`created_by` varchar(36),
	`archived_at` datetime(3),
	`created_at` datetime(3) NOT NULL,
	`updated_at` datetime(3) NOT NULL,
	CONSTRAINT `chat_conversations_id` PRIMARY KEY(`id`),
	CONSTRAINT `chat_conversations_direct_uq` UNIQUE(`tenant_id`,`direct_key`),
	CONSTRAINT `chat_conversations_alarm_uq` UNIQUE(`tenant_id`,`alarm_id`)
);
--> statement-breakpoint
CREATE TABLE `chat_device_keys` (
	`device_id` varchar(36) NOT NULL,
	`tenant_id` varchar(36) NOT NULL,
	`user_id` varchar(36) NOT NULL,
	`signature_public_key` varchar(200) NOT NULL,
	`created_at` datetime(3) NOT NULL,
	CONSTRAINT `chat_device_keys_device_id` PRIMARY KEY(`device_id`)
);
--> statement-breakpoint
CREATE TABLE `chat_group_devices` (
	`conversation_id` varchar(36) NOT NULL,
	`device_id` varchar(36) NOT NULL,
	`tenant_id` varchar(36) NOT NULL,
	`user_id` varchar(36) NOT NULL,
	`added_seq` bigint unsigned NOT NULL,
	`delivered_seq` bigint unsigned NOT NULL,
	CONSTRAINT `chat_group_devices_conversation_id_device_id_pk` PRIMARY KEY(`conversation_id`,`device_id`)
);
--> statement-breakpoint
CREATE TABLE `chat_key_packages` (
	`id` varchar(36) NOT NULL,
	`tenant_id` varchar(36) NOT NULL,
	`device_id` varchar(36) NOT NULL,
	`ref` char(64) NOT NULL,
	`key_package` text NOT NULL,
	`last_resort` boolean NOT NULL DEFAULT false,
	`created_at` datetime(3) NOT NULL,
	CONSTRAINT `chat_key_packages_id` PRIMARY KEY(`id`),
	CONSTRAINT `chat_key_packages_ref_uq` UNIQUE(`device_id`,`ref`)
);
--> statement-breakpoint
CREATE TABLE `chat_members` (
	`conversation_id` varchar(36) NOT NULL,
	`user_id` varchar(36) NOT NULL,
	`tenant_id` varchar(36) NOT NULL,
	`role` enum('owner','member') NOT NULL DEFAULT 'member',
	`read_seq` bigint unsigned NOT NULL DEFAULT 0,
	`joined_at` datetime(3) NOT NULL,
	CONSTRAINT `chat_members_conversation_id_user_id_pk` PRIMARY KEY(`conversation_id`,`user_id`)
);
--> statement-breakpoint
CREATE TABLE `chat_messages` (
	`id` varchar(36) NOT NULL,
	`tenant_id` varchar(36) NOT NULL,
	`conversation_id` varchar(36) NOT NULL,
	`seq` bigint unsigned NOT NULL,
	`kind` enum('application','commit') NOT NULL,
	`epoch` bigint unsigned NOT NULL,
	`sender_user_id` varchar(36) NOT NULL,
	`sender_device_id` varchar(36) NOT NULL,
	`client_id` varchar(36),
	`payload` mediumtext NOT NULL,
	`size` int NOT NULL,
	`created_at` datetime(3) NOT NULL,
	CONSTRAINT `chat_messages_id` PRIMARY KEY(`id`),
	CONSTRAINT `chat_messages_seq_uq` UNIQUE(`conversation_id`,`seq`),
	CONSTRAINT `chat_messages_client_uq` UNIQUE(`conversation_id`,`sender_device_id`,`client_id`)
);
--> statement-breakpoint
CREATE TABLE `chat_welcomes` (
	`id` varchar(36) NOT NULL,
	`tenant_id` varchar(36) NOT NULL,
	`conversation_id` varchar(36) NOT NULL,
	`device_id` varchar(36) NOT NULL,
	`seq` bigint unsigned NOT NULL,
	`epoch` bigint unsigned NOT NULL,
	`key_package_ref` char(64) NOT NULL,
	`welcome` mediumtext NOT NULL,
	`ratchet_tree` mediumtext,
	`created_at` datetime(3) NOT NULL,
	CONSTRAINT `chat_welcomes_id` PRIMARY KEY(`id`)
);
--> statement-breakpoint
ALTER TABLE `tenants` ADD `retention_chat_days` int DEFAULT 30 NOT NULL;--> statement-breakpoint
ALTER TABLE `tenants` ADD `chat_upload_mb` int DEFAULT 25 NOT NULL;--> statement-breakpoint
CREATE INDEX `chat_blobs_conversation_idx` ON `chat_blobs` (`tenant_id`,`conversation_id`);--> statement-breakpoint
CREATE INDEX `chat_blobs_at_idx` ON `chat_blobs` (`tenant_id`,`created_at`);--> statement-breakpoint
CREATE INDEX `chat_conversations_unit_idx` ON `chat_conversations` (`tenant_id`,`unit_id`);--> statement-breakpoint
CREATE INDEX `chat_group_devices_device_idx` ON `chat_group_devices` (`device_id`);--> statement-breakpoint
CREATE INDEX `chat_key_packages_device_idx` ON `chat_key_packages` (`device_id`,`last_resort`);--> statement-breakpoint
CREATE INDEX `chat_members_user_idx` ON `chat_members` (`tenant_id`,`user_id`);--> statement-breakpoint
CREATE INDEX `chat_messages_at_idx` ON `chat_messages` (`tenant_id`,`created_at`);--> statement-breakpoint
CREATE INDEX `chat_welcomes_device_idx` ON `chat_welcomes` (`device_id`);--> statement-breakpoint
CREATE INDEX `chat_welcomes_at_idx` ON `chat_welcomes` (`tenant_id`,`created_at`);