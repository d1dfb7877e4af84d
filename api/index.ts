/** The API role: Fastify app (`buildApp`) apart from the listening service (`createApiService`). */
export { type ApiDeps, type ApiServices, type BuildAppOptions, buildApp } from './app.ts'
export { type ApiService, createApiService } from './server.ts'
