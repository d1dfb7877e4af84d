package io.riskstream.examples;

import io.apicurio.registry.serde.avro.AvroKafkaSerializer;
import io.apicurio.registry.serde.config.SerdeConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Properties;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * Produces prediction requests to RiskStream with Apicurio's Avro serializer, in the wire format
 * RiskStream reads (magic byte 0, the 4-byte Confluent-compatible id, the Avro body).
 * Settings: KAFKA_BROKERS, REGISTRY_URL (the registry's own API, default
 * http://127.0.0.1:8081/apis/registry/v3), TOPIC_PREFIX, SCHEMA_DIR; argument: how many.
 * Prints {"requests": N, "requestIds": [...]}.
 */
public final class ProduceRequests {
  private static String env(String name, String fallback) {
    String v = System.getenv(name);
    return v == null || v.isEmpty() ? fallback : v;
  }

  public static void main(String[] args) throws Exception {
    int count = args.length > 0 ? Integer.parseInt(args[0]) : 100;
    String topic = env("TOPIC_PREFIX", "") + "clinical.prediction-requests";
    Schema schema = new Schema.Parser()
        .parse(Files.readString(Path.of(env("SCHEMA_DIR", "../../../schemas"), "PredictionRequest.avsc")));

    Properties props = new Properties();
    props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, env("KAFKA_BROKERS", "127.0.0.1:9092"));
    props.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
    props.put(ProducerConfig.ACKS_CONFIG, "all");
    props.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
    props.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, AvroKafkaSerializer.class.getName());
    props.put(SerdeConfig.REGISTRY_URL, env("REGISTRY_URL", "http://127.0.0.1:8081/apis/registry/v3"));
    // `riskstream setup` registers the contract as <topic>-value (group "default", the
    // default TopicIdStrategy): write with that version, never register another.
    props.put(SerdeConfig.AUTO_REGISTER_ARTIFACT, false);
    props.put(SerdeConfig.FIND_LATEST_ARTIFACT, true);
    // Confluent-compatible ids: the registry's content id, in the 4-byte payload header.
    props.put(SerdeConfig.USE_ID, "contentId");
    props.put(SerdeConfig.ID_HANDLER, "io.apicurio.registry.serde.Default4ByteIdHandler");
    props.put("apicurio.registry.headers.enabled", false);

    Random rng = new Random();
    StringBuilder ids = new StringBuilder();
    AtomicInteger failed = new AtomicInteger();
    try (KafkaProducer<String, GenericRecord> producer = new KafkaProducer<>(props)) {
      for (int i = 0; i < count; i++) {
        String requestId = UUID.randomUUID().toString();
        GenericRecord r = new GenericData.Record(schema);
        r.put("requestId", requestId);
        r.put("patientId", "p-" + UUID.randomUUID().toString().substring(0, 12));
        // Epoch milliseconds, within the allowed skew of now (EVENT_TIME_MAX_AGE_MS / _AHEAD_MS).
        r.put("eventTime", System.currentTimeMillis());
        r.put("sourceSystem", "java-example");
        r.put("pregnancies", (double) rng.nextInt(9));
        r.put("glucose", 70.0 + rng.nextInt(120));
        r.put("bloodPressure", 55.0 + rng.nextInt(40));
        r.put("skinThickness", null); // not measured: null, never 0
        r.put("insulin", null);
        r.put("bmi", 19.0 + rng.nextInt(260) / 10.0);
        r.put("diabetesPedigreeFunction", 0.1 + rng.nextInt(140) / 100.0);
        r.put("age", 21.0 + rng.nextInt(60));
        // The key is the requestId: the request, its prediction and its outcome share a partition.
        producer.send(new ProducerRecord<>(topic, requestId, r), (metadata, error) -> {
          if (error != null) failed.incrementAndGet();
        });
        ids.append(i == 0 ? "\"" : ", \"").append(requestId).append('"');
      }
      producer.flush();
    }
    if (failed.get() > 0) {
      System.err.println(failed.get() + " of " + count + " requests were not delivered");
      System.exit(1);
    }
    System.out.println("{\"requests\": " + count + ", \"requestIds\": [" + ids + "]}");
  }
}
