# One image for every RiskStream role; docker-compose.yml picks the role via the command.
FROM node:20-slim
WORKDIR /app
ENV NODE_ENV=production NPM_CONFIG_UPDATE_NOTIFIER=false
# Dependencies first so source edits do not invalidate the npm layer. Dev dependencies are skipped:
# tsx (the runtime) is a regular dependency.
COPY package.json package-lock.json ./
RUN npm ci --omit=dev && npm cache clean --force
COPY . .
RUN mkdir -p /app/.data && chown -R node:node /app/.data
USER node
EXPOSE 8080
CMD ["npx", "tsx", "bin/riskstream.ts", "run", "all"]
