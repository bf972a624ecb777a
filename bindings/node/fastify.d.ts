import type { FastifyPluginAsync } from 'fastify';
import type { Client, ClientOptions } from './index';

export interface EnrichPluginOptions extends ClientOptions {
  /** Decorate with this client instead of creating one. */
  client?: Client;
  /** Close a given `client` when Fastify closes (a created one always is). */
  closeClient?: boolean;
  /** Decorator name (default 'enrich'). */
  decorate?: string;
}

declare module 'fastify' {
  interface FastifyInstance {
    enrich: Client;
  }
}

declare const enrichPlugin: FastifyPluginAsync<EnrichPluginOptions>;
export default enrichPlugin;
export { enrichPlugin };
