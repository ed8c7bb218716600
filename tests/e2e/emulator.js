// Starts the telegram-test-api Bot API emulator for the end-to-end tests.
// Usage: NODE_PATH=.e2e/node_modules node tests/e2e/emulator.js PORT
const TelegramServer = require('telegram-test-api');

const port = Number(process.argv[2]);
const server = new TelegramServer({ port, host: '127.0.0.1', storeTimeout: 600 });

server.start().then(() => {
  console.log(`emulator listening on ${port}`);
});

const stop = () => server.stop().then(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
