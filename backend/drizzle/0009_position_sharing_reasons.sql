ALTER TABLE `position_sharing` ADD `stopped_at` datetime(3);--> statement-breakpoint
ALTER TABLE `tenants` ADD `position_share_on_duty` boolean DEFAULT false NOT NULL;