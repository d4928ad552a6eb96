// A Yilin event subscriber in Node.js: plain AMQP 0-9-1 through amqplib, no Yilin code.
//
// Every Yilin event is a CloudEvent 1.0 in structured content mode: the message body is
// the JSON CloudEvent and its content type is application/cloudevents+json. This
// subscriber owns a durable quorum queue, binds it to the routing keys it wants on the
// services' <service>.events topic exchanges (Yilin declares those: a subscriber never
// does), and prints one JSON line per event on stdout. It acks after processing and
// rejects (without requeue, so a dead-letter policy can park it) what is not a CloudEvent.
//
//   npm ci --prefix examples/node_subscriber
//   node examples/node_subscriber/index.mjs --url amqp://guest:guest@localhost:5672/%2F \
//       --queue sub-dashboard.events --bind 'tickets.events:ticket.*' --bind 'hours.events:hours.verified'
//
// It prints `ready` once its queue is declared and bound: events published before that
// are not routed to it.

import { parseArgs } from "node:util";
import amqp from "amqplib";

const CONTENT_TYPE = "application/cloudevents+json";
const TYPE_PREFIX = "org.yilin.";
const REQUIRED = ["specversion", "id", "source", "type", "time", "datacontenttype", "dataschema", "dataversion"];

const { values: options } = parseArgs({
  options: {
    url: { type: "string", default: process.env.YILIN_AMQP_URL ?? "amqp://guest:guest@localhost:5672/%2F" },
    queue: { type: "string", default: "example.node" },
    bind: { type: "string", multiple: true, default: ["registry.events:volunteer.*"] },
    prefetch: { type: "string", default: "50" },
  },
});

// Why a parsed body is not a Yilin CloudEvent, or null if it is one.
function problem(event) {
  if (event === null || typeof event !== "object" || Array.isArray(event)) return "not a JSON object";
  if (event.specversion !== "1.0") return `specversion ${JSON.stringify(event.specversion)}`;
  const missing = REQUIRED.filter((name) => event[name] === undefined);
  if (missing.length) return `missing ${missing.join(", ")}`;
  if (!String(event.type).startsWith(TYPE_PREFIX)) return `type ${event.type} outside ${TYPE_PREFIX}`;
  if (event.data === null || typeof event.data !== "object") return "data is not an object";
  return null;
}

const connection = await amqp.connect(options.url);
const channel = await connection.createChannel();
await channel.assertQueue(options.queue, { durable: true, arguments: { "x-queue-type": "quorum" } });
for (const binding of options.bind) {
  const at = binding.indexOf(":");
  if (at < 1) throw new Error(`expected EXCHANGE:ROUTING_KEY, got ${binding}`);
  await channel.bindQueue(options.queue, binding.slice(0, at), binding.slice(at + 1));
}
await channel.prefetch(Number(options.prefetch));

const seen = new Set(); // delivery is at least once: de-duplicate on id
await channel.consume(
  options.queue,
  (message) => {
    if (message === null) return; // the queue was deleted
    let event = null;
    try {
      event = JSON.parse(message.content.toString("utf8"));
    } catch {
      event = undefined;
    }
    const why = message.properties.contentType !== CONTENT_TYPE
      ? `content type ${message.properties.contentType}`
      : problem(event);
    if (why) {
      console.error(`rejecting a message that is not a Yilin CloudEvent: ${why}`);
      channel.nack(message, false, false);
      return;
    }
    if (!seen.has(event.id)) {
      seen.add(event.id);
      // The routing key is the type without its prefix; data follows the schema `dataschema` names.
      console.log(JSON.stringify({
        id: event.id,
        type: event.type,
        source: event.source,
        time: event.time,
        dataschema: event.dataschema,
        dataversion: event.dataversion,
        correlationid: event.correlationid ?? null,
        routingKey: message.fields.routingKey,
        data: event.data,
      }));
    }
    channel.ack(message); // after processing
  },
  { noAck: false },
);
console.log("ready");

async function stop() {
  await channel.close();
  await connection.close();
  console.log("stopped");
  process.exit(0);
}
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
