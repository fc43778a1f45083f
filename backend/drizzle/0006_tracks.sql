CREATE TABLE `position_points` (
	`id` bigint unsigned AUTO_INCREMENT NOT NULL,
	`tenant_id` varchar(36) NOT NULL,
	`user_id` varchar(36) NOT NULL,
	`lat` double NOT NULL,
	`lon` double NOT NULL,
	`accuracy_m` int NOT NULL,
	`recorded_at` datetime(3) NOT NULL,
	CONSTRAINT `position_points_id` PRIMARY KEY(`id`)
);
--> statement-breakpoint
ALTER TABLE `tenants` ADD `retention_track_hours` int DEFAULT 24 NOT NULL;--> statement-breakpoint
ALTER TABLE `tenants` ADD `retention_alarm_days` int DEFAULT 365 NOT NULL;--> statement-breakpoint
CREATE INDEX `position_points_user_idx` ON `position_points` (`tenant_id`,`user_id`,`recorded_at`);--> statement-breakpoint
CREATE INDEX `position_points_at_idx` ON `position_points` (`tenant_id`,`recorded_at`);