import java.nio.file.Files;
import java.nio.file.Path;

import org.apache.avro.Schema;
import org.apache.avro.SchemaNormalization;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.message.BinaryMessageDecoder;

/**
 * Reads Precursor Watch's schemas and messages with Avro's own Java implementation, as an
 * authority's consumer would: the fingerprint of each schema, and messages decoded by
 * BinaryMessageDecoder, which finds the writer's schema by the fingerprint in the header.
 */
public class Interop {
    public static void main(String[] args) throws Exception {
        if (args.length == 0) {
            usage();
        }
        switch (args[0]) {
            case "fingerprint" -> {
                for (int i = 1; i < args.length; i++) {
                    Schema schema = parse(args[i]);
                    System.out.printf(
                            "%s %016x%n", args[i], SchemaNormalization.parsingFingerprint64(schema));
                }
            }
            case "decode" -> {
                if (args.length % 2 != 1) {
                    usage();
                }
                for (int i = 1; i < args.length; i += 2) {
                    BinaryMessageDecoder<GenericRecord> decoder =
                            new BinaryMessageDecoder<>(GenericData.get(), parse(args[i]));
                    GenericRecord record = decoder.decode(Files.readAllBytes(Path.of(args[i + 1])));
                    System.out.println(record);
                }
            }
            default -> usage();
        }
    }

    private static Schema parse(String file) throws Exception {
        return new Schema.Parser().parse(Path.of(file).toFile());
    }

    private static void usage() {
        System.err.println("usage: Interop fingerprint SCHEMA... | decode SCHEMA MESSAGE [SCHEMA MESSAGE]...");
        System.exit(2);
    }
}
