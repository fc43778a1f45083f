CREATE TABLE `audit_heads` (
	`tenant_id` varchar(36) NOT NULL,
	`seq` bigint unsigned NOT NULL,
	`hash` char(64) NOT NULL,
	CONSTRAINT `audit_heads_tenant_id` PRIMARY KEY(`tenant_id`)
);
--> statement-breakpoint
CREATE TABLE `audit_log` (
	`id` bigint unsigned AUTO_INCREMENT NOT NULL,
	`tenant_id` varchar(36) NOT NULL,
	`seq` bigint unsigned NOT NULL,
	`at` datetime(3) NOT NULL,
	`actor_user_id` varchar(36),
	`actor_device_id` varchar(36),
	`actor_ip` varchar(64),
	`action` varchar(64) NOT NULL,
	`target_type` varchar(32),
	`target_id` varchar(64),
	`details` json NOT NULL,
	`prev_hash` char(64) NOT NULL,
	`hash` char(64) NOT NULL,
	CONSTRAINT `audit_log_id` PRIMARY KEY(`id`),
	CONSTRAINT `audit_tenant_seq_uq` UNIQUE(`tenant_id`,`seq`)
);
--> statement-breakpoint
CREATE TABLE `auth_challenges` (
	`id` varchar(36) NOT NULL,
	`challenge` varchar(128) NOT NULL,
	`purpose` varchar(32) NOT NULL,
	`user_id` varchar(36),
	`expires_at` datetime(3) NOT NULL,
	CONSTRAINT `auth_challenges_id` PRIMARY KEY(`id`)
);
--> statement-breakpoint
CREATE TABLE `connections` (
	`id` bigint unsigned AUTO_INCREMENT NOT NULL,
	`tenant_id` varchar(36) NOT NULL,
	`user_id` varchar(36) NOT NULL,
	`device_id` varchar(36) NOT NULL,
	`ip` varchar(64) NOT NULL,
	`user_agent` varchar(512) NOT NULL,
	`connected_at` datetime(3) NOT NULL,
	`disconnected_at` datetime(3),
	`disconnect_reason` varchar(64),
	CONSTRAINT `connections_id` PRIMARY KEY(`id`)
);
--> statement-breakpoint
CREATE TABLE `devices` (
	`id` varchar(36) NOT NULL,
	`tenant_id` varchar(36) NOT NULL,
	`user_id` varchar(36) NOT NULL,
	`name` varchar(120) NOT NULL,
	`user_agent` varchar(512) NOT NULL DEFAULT '',
	`access_hash` char(64),
	`access_expires_at` datetime(3),
	`refresh_hash` char(64),
	`refresh_expires_at` datetime(3),
	`prev_refresh_hash` char(64),
	`mfa_enrolment_pending` boolean NOT NULL DEFAULT false,
	`last_seen_at` datetime(3) NOT NULL,
	`last_ip` varchar(64) NOT NULL DEFAULT '',
	`created_at` datetime(3) NOT NULL,
	`revoked_at` datetime(3),
	`revoked_by` varchar(36),
	`revoke_reason` varchar(32),
	`wipe_requested` boolean NOT NULL DEFAULT false,
	`wipe_confirmed_at` datetime(3),
	CONSTRAINT `devices_id` PRIMARY KEY(`id`),
	CONSTRAINT `devices_access_uq` UNIQUE(`access_hash`),
	CONSTRAINT `devices_refresh_uq` UNIQUE(`refresh_hash`)
);
--> statement-breakpoint
CREATE TABLE `login_throttle` (
	`key_hash` char(64) NOT NULL,
	`failures` int NOT NULL DEFAULT 0,
	`window_started_at` datetime(3) NOT NULL,
	`locked_until` datetime(3),
	CONSTRAINT `login_throttle_key_hash` PRIMARY KEY(`key_hash`)
);
--> statement-breakpoint
CREATE TABLE `one_time_links` (
	`id` varchar(36) NOT NULL,
	`tenant_id` varchar(36),
	`user_id` varchar(36),
	`purpose` enum('invite','setup','password_reset') NOT NULL,
	`token_hash` char(64) NOT NULL,
	`expires_at` datetime(3) NOT NULL,
	`used_at` datetime(3),
	`created_by` varchar(36),
	`created_at` datetime(3) NOT NULL,
	CONSTRAINT `one_time_links_id` PRIMARY KEY(`id`),
	CONSTRAINT `one_time_links_token_uq` UNIQUE(`token_hash`)
);
--> statement-breakpoint
CREATE TABLE `qualifications` (
	`id` varchar(36) NOT NULL,
	`tenant_id` varchar(36) NOT NULL,
	`name` varchar(60) NOT NULL,
	`created_at` datetime(3) NOT NULL,
	`updated_at` datetime(3) NOT NULL,
	CONSTRAINT `qualifications_id` PRIMARY KEY(`id`),
	CONSTRAINT `qualifications_tenant_name_uq` UNIQUE(`tenant_id`,`name`)
);
--> statement-breakpoint
CREATE TABLE `recovery_codes` (
	`id` varchar(36) NOT NULL,
	`tenant_id` varchar(36) NOT NULL,
	`user_id` varchar(36) NOT NULL,
	`code_hash` char(64) NOT NULL,
	`used_at` datetime(3),
	`created_at` datetime(3) NOT NULL,
	CONSTRAINT `recovery_codes_id` PRIMARY KEY(`id`)
);
--> statement-breakpoint
CREATE TABLE `tenants` (
	`id` varchar(36) NOT NULL,
	`name` varchar(200) NOT NULL,
	`slug` varchar(64) NOT NULL,
	`timezone` varchar(64) NOT NULL DEFAULT 'Europe/Berlin',
	`retention_connection_days` int NOT NULL DEFAULT 90,
	`retention_audit_days` int NOT NULL DEFAULT 730,
	`retention_inactive_device_days` int NOT NULL DEFAULT 180,
	`directory_version` bigint unsigned NOT NULL DEFAULT 0,
	`created_at` datetime(3) NOT NULL,
	`updated_at` datetime(3) NOT NULL,
	CONSTRAINT `tenants_id` PRIMARY KEY(`id`),
	CONSTRAINT `tenants_slug_uq` UNIQUE(`slug`)
);
--> statement-breakpoint
CREATE TABLE `units` (
	`id` varchar(36) NOT NULL,
	`tenant_id` varchar(36) NOT NULL,
	`parent_id` varchar(36),
	`name` varchar(120) NOT NULL,
	`kind` varchar(40) NOT NULL DEFAULT '',
	`created_at` datetime(3) NOT NULL,
	`updated_at` datetime(3) NOT NULL,
	CONSTRAINT `units_id` PRIMARY KEY(`id`)
);
--> statement-breakpoint
CREATE TABLE `user_qualifications` (
	`tenant_id` varchar(36) NOT NULL,
	`user_id` varchar(36) NOT NULL,
	`qualification_id` varchar(36) NOT NULL,
	CONSTRAINT `user_qualifications_user_id_qualification_id_pk` PRIMARY KEY(`user_id`,`qualification_id`)
);
--> statement-breakpoint
CREATE TABLE `user_units` (
	`tenant_id` varchar(36) NOT NULL,
	`user_id` varchar(36) NOT NULL,
	`unit_id` varchar(36) NOT NULL,
	CONSTRAINT `user_units_user_id_unit_id_pk` PRIMARY KEY(`user_id`,`unit_id`)
);
--> statement-breakpoint
CREATE TABLE `users` (
	`id` varchar(36) NOT NULL,
	`tenant_id` varchar(36) NOT NULL,
	`email` varchar(254) NOT NULL,
	`display_name` varchar(120) NOT NULL,
	`role` enum('admin','dispatcher','lead','member','auditor') NOT NULL,
	`is_superadmin` boolean NOT NULL DEFAULT false,
	`password_hash` varchar(255),
	`active` boolean NOT NULL DEFAULT true,
	`locale` varchar(8),
	`totp_secret` varchar(64),
	`totp_enabled_at` datetime(3),
	`totp_last_step` bigint,
	`last_login_at` datetime(3),
	`created_at` datetime(3) NOT NULL,
	`updated_at` datetime(3) NOT NULL,
	CONSTRAINT `users_id` PRIMARY KEY(`id`),
	CONSTRAINT `users_email_uq` UNIQUE(`email`)
);
--> statement-breakpoint
CREATE TABLE `webauthn_credentials` (
	`id` varchar(512) NOT NULL,
	`tenant_id` varchar(36) NOT NULL,
	`user_id` varchar(36) NOT NULL,
	`name` varchar(120) NOT NULL,
	`public_key` text NOT NULL,
	`counter` bigint NOT NULL DEFAULT 0,
	`transports` json NOT NULL,
	`backed_up` boolean NOT NULL DEFAULT false,
	`created_at` datetime(3) NOT NULL,
	`last_used_at` datetime(3),
	CONSTRAINT `webauthn_credentials_id` PRIMARY KEY(`id`)
);
--> statement-breakpoint
CREATE INDEX `audit_tenant_at_idx` ON `audit_log` (`tenant_id`,`at`);--> statement-breakpoint
CREATE INDEX `connections_tenant_at_idx` ON `connections` (`tenant_id`,`connected_at`);--> statement-breakpoint
CREATE INDEX `connections_device_idx` ON `connections` (`tenant_id`,`device_id`);--> statement-breakpoint
CREATE INDEX `devices_prev_refresh_idx` ON `devices` (`prev_refresh_hash`);--> statement-breakpoint
CREATE INDEX `devices_user_idx` ON `devices` (`tenant_id`,`user_id`,`revoked_at`);--> statement-breakpoint
CREATE INDEX `recovery_codes_user_idx` ON `recovery_codes` (`tenant_id`,`user_id`);--> statement-breakpoint
CREATE INDEX `units_tenant_parent_idx` ON `units` (`tenant_id`,`parent_id`);--> statement-breakpoint
CREATE INDEX `user_qualifications_q_idx` ON `user_qualifications` (`tenant_id`,`qualification_id`);--> statement-breakpoint
CREATE INDEX `user_units_unit_idx` ON `user_units` (`tenant_id`,`unit_id`);--> statement-breakpoint
CREATE INDEX `users_tenant_idx` ON `users` (`tenant_id`,`updated_at`);--> statement-breakpoint
CREATE INDEX `webauthn_user_idx` ON `webauthn_credentials` (`tenant_id`,`user_id`);