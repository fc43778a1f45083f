export * from './errors.ts';
export * from './roles.ts';
export * from './events.ts';
export * from './alarms.ts';
