CREATE TABLE `alarm_schedules` (
	`id` varchar(36) NOT NULL,
	`tenant_id` varchar(36) NOT NULL,
	`template_id` varchar(36) NOT NULL,
	`name` varchar(120) NOT NULL,
	`weekdays` json NOT NULL,
	`time` varchar(5) NOT NULL,
	`is_test` boolean NOT NULL DEFAULT true,
	`active` boolean NOT NULL DEFAULT true,
	`next_run_at` datetime(3),
	`last_run_at` datetime(3),
	`created_by` varchar(36),
	`created_at` datetime(3) NOT NULL,
	`updated_at` datetime(3) NOT NULL,
	CONSTRAINT `alarm_schedules_id` PRIMARY KEY(`id`)
);
--> statement-breakpoint
CREATE TABLE `push_subscriptions` (
	`device_id` varchar(36) NOT NULL,
	`tenant_id` varchar(36) NOT NULL,
	`user_id` varchar(36) NOT NULL,
	`endpoint` varchar(1000) NOT NULL,
	`p256dh` varchar(120) NOT NULL,
	`auth` varchar(40) NOT NULL,
	`created_at` datetime(3) NOT NULL,
	`last_sent_at` datetime(3),
	CONSTRAINT `push_subscriptions_device_id` PRIMARY KEY(`device_id`)
);
--> statement-breakpoint
CREATE TABLE `vapid_keys` (
	`id` int NOT NULL,
	`public_key` varchar(120) NOT NULL,
	`private_key` varchar(80) NOT NULL,
	`created_at` datetime(3) NOT NULL,
	CONSTRAINT `vapid_keys_id` PRIMARY KEY(`id`)
);
--> statement-breakpoint
CREATE INDEX `alarm_schedules_due_idx` ON `alarm_schedules` (`active`,`next_run_at`);--> statement-breakpoint
CREATE INDEX `push_subscriptions_user_idx` ON `push_subscriptions` (`tenant_id`,`user_id`);