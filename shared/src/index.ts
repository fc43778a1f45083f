export * from './errors.ts';
export * from './roles.ts';
export * from './events.ts';
export * from './alarms.ts';
export * from './positions.ts';
export * from './geofences.ts';
export * from './ptt.ts';
export * from './chat.ts';
