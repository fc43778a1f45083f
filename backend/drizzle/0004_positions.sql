CREATE TABLE `member_positions` (
	`user_id` varchar(36) NOT NULL,
	`tenant_id` varchar(36) NOT NULL,
	`device_id` varchar(36) NOT NULL,
	`lat` double NOT NULL,
	`lon` double NOT NULL,
	`accuracy_m` int NOT NULL,
	`heading` int,
	`speed_kmh` int,
	`recorded_at` datetime(3) NOT NULL,
	`received_at` datetime(3) NOT NULL,
	CONSTRAINT `member_positions_user_id` PRIMARY KEY(`user_id`)
);
--> statement-breakpoint
CREATE TABLE `position_sharing` (
	`user_id` varchar(36) NOT NULL,
	`tenant_id` varchar(36) NOT NULL,
	`until` datetime(3),
	`updated_at` datetime(3) NOT NULL,
	CONSTRAINT `position_sharing_user_id` PRIMARY KEY(`user_id`)
);
--> statement-breakpoint
CREATE INDEX `member_positions_tenant_idx` ON `member_positions` (`tenant_id`,`recorded_at`);