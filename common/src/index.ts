export * from './config';
export * from './envelope';
export * from './errors';
export * from './kafka';
export * from './lifecycle';
export * from './logger';
export * from './metrics';
export * from './ops-server';
