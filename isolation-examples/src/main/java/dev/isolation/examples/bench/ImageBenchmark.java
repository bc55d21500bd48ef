package dev.isolation.examples.bench;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import dev.isolation.core.IsolatedProcess;
import dev.isolation.core.Sandbox;
import dev.isolation.core.image.OciImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.apache.commons.compress.compressors.gzip.GzipCompressorOutputStream;

/**
 * What an image costs: starting {@code busybox true} in a sandbox on a cached three-layer image vs
 * the same sandbox on {@link Sandbox.Builder#minimalRoot()}, measured in the same run (median and
 * p99); and unpacking a ~100 MiB layer (uncompressed and gzip) into a fresh cache vs {@code tar -x}
 * of the same blob into a fresh directory, in interleaved rounds after one warm-up round (medians,
 * the median of the rounds' ratios, and the cold first round). Every round's output, ours and
 * tar's, stays until all rounds are done: on ext4 without a journal, creating a file skips every
 * free inode of its group deleted in the last 30 s to 3 min, reading each one's inode block to
 * check, so removing each round's 480 files before the next made both figures grow round after
 * round with a cost neither unpacker has when it fills a cache (it needs about 3.3 GB of page cache).
 * Asserts nothing. Needs root and {@code /bin/busybox} (a static busybox; Debian's busybox-static).
 *
 * <pre>
 * java -cp isolation.jar dev.isolation.examples.bench.ImageBenchmark [RUNS [UNPACK_ROUNDS]]   (RUNS 0: only the unpacking rows; UNPACK_ROUNDS default 7)
 * </pre>
 */
public final class ImageBenchmark {
    private static final Path BUSYBOX = Path.of("/bin/busybox");
    private static final int WARMUP = 100;
    private static final long UNPACK_BYTES = 100L << 20;
    private static final int UNPACK_ROUNDS = 7;

    private ImageBenchmark() {}

    public static void main(String[] args) throws Exception {
        run(args.length > 0 ? Integer.parseInt(args[0]) : 500, args.length > 1 ? Integer.parseInt(args[1]) : UNPACK_ROUNDS);
    }

    static void run(int runs) throws IOException, InterruptedException {
        run(runs, UNPACK_ROUNDS);
    }

    static void run(int runs, int unpackRounds) throws IOException, InterruptedException {
        if (unpackRounds < 1) {
            throw new IllegalArgumentException("unpack rounds: " + unpackRounds + ", must be at least 1");
        }
        if (!Files.isExecutable(BUSYBOX)) {
            System.out.println("image rows skipped: no " + BUSYBOX + " (install busybox-static)");
            return;
        }
        Path work = Files.createTempDirectory("isolation-image-bench");
        try {
            if (runs > 0) {
                startRows(work, runs);
            }
            unpackRows(work, unpackRounds);
        } finally {
            remove(work);
        }
    }

    private static void startRows(Path work, int runs) throws IOException, InterruptedException {
        byte[] busybox = Files.readAllBytes(BUSYBOX);
        List<byte[]> layers = List.of(
                tar(List.of(dir("bin"), file("bin/busybox", 0755, busybox), dir("etc"), file("etc/passwd", 0644, "root:x:0:0::/:/bin/sh\n"))),
                tar(List.of(dir("opt"), file("opt/a", 0644, "a\n"), dir("etc"), file("etc/motd", 0644, "m\n"))),
                tar(List.of(dir("usr"), file("usr/b", 0644, "b\n"))));
        Path layout = work.resolve("small");
        layout(layout, layers, false);
        OciImage image = OciImage.reader().cache(work.resolve("cache")).open(layout, "bench");
        Sandbox base = Sandbox.builder().pidNs().mountNs().utsNs().ipcNs().netNs().build();
        Sandbox minimal = base.toBuilder().minimalRoot().build();
        Sandbox onImage = base.toBuilder().image(image).build();
        System.out.printf(Locale.ROOT, "%n%s true, %d runs each after %d warm-up runs, sequential, alternating%n", BUSYBOX, runs, WARMUP);
        long[][] nanos = new long[2][runs];
        Sandbox[] boxes = {minimal, onImage};
        for (int i = -WARMUP; i < runs; i++) {
            for (int b = 0; b < 2; b++) {
                long t0 = System.nanoTime();
                try (IsolatedProcess p = boxes[b].start(BUSYBOX.toString(), "true")) {
                    if (p.waitFor() != 0) {
                        throw new IOException("busybox true failed on " + (b == 0 ? "minimalRoot()" : "the image"));
                    }
                }
                if (i >= 0) {
                    nanos[b][i] = System.nanoTime() - t0;
                }
            }
        }
        String[] names = {"Sandbox pid+mount+uts+ipc+net minimalRoot()", "Sandbox pid+mount+uts+ipc+net image (3 layers, cached)"};
        double[] medians = new double[2];
        System.out.printf(Locale.ROOT, "%-56s %10s %10s%n", "scenario", "median ms", "p99 ms");
        for (int b = 0; b < 2; b++) {
            long[] s = nanos[b].clone();
            Arrays.sort(s);
            medians[b] = s[s.length / 2] / 1e6;
            System.out.printf(Locale.ROOT, "%-56s %10.3f %10.3f%n", names[b], medians[b], s[(int) Math.ceil(0.99 * s.length) - 1] / 1e6);
        }
        System.out.printf(Locale.ROOT, "image overhead over minimalRoot(): %+.3f ms median (target: at most +0.5)%n", medians[1] - medians[0]);
    }

    private static void unpackRows(Path work, int rounds) throws IOException, InterruptedException {
        // ~100 MiB of files of 4 KiB to 1 MiB, half of each compressible text, half random
        Random random = new Random(42);
        List<Entry> entries = new ArrayList<>();
        long total = 0;
        for (int d = 0; total < UNPACK_BYTES; d++) {
            entries.add(dir("d" + d));
            for (int f = 0; f < 20 && total < UNPACK_BYTES; f++) {
                int size = 4096 << random.nextInt(9);
                byte[] b = new byte[size];
                random.nextBytes(b);
                Arrays.fill(b, size / 2, size, (byte) 'x');
                entries.add(file("d" + d + "/f" + f, 0644, b));
                total += size;
            }
        }
        byte[] tar = tar(entries);
        double mib = tar.length / 1048576.0;
        String[] kinds = {"uncompressed", "gzip"};
        Path[] layouts = new Path[2];
        Path[] blobs = new Path[2];
        for (int k = 0; k < 2; k++) {
            layouts[k] = work.resolve("big-" + kinds[k]);
            layout(layouts[k], List.of(tar), k == 1);
            try (Stream<Path> files = Files.list(layouts[k].resolve("blobs/sha256"))) {
                blobs[k] = files.max(Comparator.comparingLong(p -> p.toFile().length())).orElseThrow();
            }
        }
        // the library's first native call and classes are not part of unpacking: a one-file image first
        Path tiny = work.resolve("tiny");
        layout(tiny, List.of(tar(List.of(file("a", 0644, "a\n")))), false);
        open(tiny, work.resolve("cache"));
        System.out.printf(Locale.ROOT, "%nunpacking one layer of %d files, %.1f MiB, into a fresh directory: one warm-up round, then %d rounds,"
                + " each of OciImage.open and tar -x of the same blob, in alternating order%n", entries.size(), mib, rounds);
        // [kind][0: OciImage.open, 1: tar][round]; round -1 is the warm-up (a cold JVM: the JIT has not compiled the hashing yet)
        double[][][] seconds = new double[2][2][rounds];
        double[][] cold = new double[2][2];
        Path outputs = Files.createDirectory(work.resolve("unpacked")); // removed after the last round, not between rounds
        int run = 0;
        for (int i = -1; i < rounds; i++) {
            for (int k = 0; k < 2; k++) {
                for (int j = 0; j < 2; j++) {
                    int which = (i & 1) == 0 ? j : 1 - j;
                    Path out = outputs.resolve((which == 0 ? "cache-" : "tar-") + run++);
                    double s = which == 0 ? open(layouts[k], out) : untar(blobs[k], k == 1, out);
                    if (i < 0) {
                        cold[k][which] = s;
                    } else {
                        seconds[k][which][i] = s;
                    }
                }
            }
        }
        remove(outputs);
        System.out.printf(Locale.ROOT, "%-44s %10s %10s %10s %10s%n", "scenario", "median s", "MiB/s", "x tar", "cold s");
        for (int k = 0; k < 2; k++) {
            double[] ratios = new double[rounds];
            for (int i = 0; i < rounds; i++) {
                ratios[i] = seconds[k][0][i] / seconds[k][1][i];
            }
            double ours = median(seconds[k][0]);
            double gnu = median(seconds[k][1]);
            System.out.printf(Locale.ROOT, "%-44s %10.3f %10.1f %10.2f %10.3f%n", "OciImage.open (" + kinds[k] + ", digests checked)",
                    ours, mib / ours, median(ratios), cold[k][0]);
            System.out.printf(Locale.ROOT, "%-44s %10.3f %10.1f %10.2f %10.3f%n", "tar " + (k == 1 ? "-xzf" : "-xf") + " (same blob)",
                    gnu, mib / gnu, 1.0, cold[k][1]);
        }
        System.out.println("(x tar: the median of the rounds' ratios, below 1 is faster than tar; cold: the warm-up round, before the JIT compiled"
                + " the unpacking and hashing)");
    }

    /** Seconds to open the image into a new cache (every digest checked). */
    private static double open(Path layout, Path cache) throws IOException {
        long t0 = System.nanoTime();
        OciImage.reader().cache(cache).open(layout, "bench");
        return (System.nanoTime() - t0) / 1e9;
    }

    /** Seconds of {@code tar -xf} (or {@code -xzf}) of {@code blob} into a new directory (its start through ProcessBuilder included). */
    private static double untar(Path blob, boolean gzip, Path out) throws IOException, InterruptedException {
        Files.createDirectory(out);
        long t0 = System.nanoTime();
        Process p = new ProcessBuilder("tar", gzip ? "-xzf" : "-xf", blob.toString(), "-C", out.toString()).inheritIO().start();
        if (!p.waitFor(600, TimeUnit.SECONDS) || p.exitValue() != 0) {
            p.destroyForcibly();
            throw new IOException("tar -x failed");
        }
        return (System.nanoTime() - t0) / 1e9;
    }

    private static double median(double[] values) {
        double[] s = values.clone();
        Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }

    /** A tar entry to write. */
    private record Entry(String name, int mode, byte[] content, boolean directory) {}

    private static Entry dir(String name) {
        return new Entry(name, 0755, new byte[0], true);
    }

    private static Entry file(String name, int mode, String content) {
        return file(name, mode, content.getBytes(StandardCharsets.UTF_8));
    }

    private static Entry file(String name, int mode, byte[] content) {
        return new Entry(name, mode, content, false);
    }

    private static byte[] tar(List<Entry> entries) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (TarArchiveOutputStream out = new TarArchiveOutputStream(bytes)) {
            out.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
            for (Entry e : entries) {
                TarArchiveEntry t = new TarArchiveEntry(e.name() + (e.directory() ? "/" : ""));
                t.setMode((e.directory() ? 040000 : 0100000) | e.mode());
                t.setSize(e.content().length);
                out.putArchiveEntry(t);
                out.write(e.content());
                out.closeArchiveEntry();
            }
        }
        return bytes.toByteArray();
    }

    /** An OCI layout with tag "bench" of these layer tars. */
    private static void layout(Path dir, List<byte[]> tars, boolean gzip) throws IOException {
        Path blobs = Files.createDirectories(dir.resolve("blobs/sha256"));
        Files.writeString(dir.resolve("oci-layout"), "{\"imageLayoutVersion\":\"1.0.0\"}");
        JsonArray diffIds = new JsonArray();
        JsonArray layers = new JsonArray();
        for (byte[] tar : tars) {
            diffIds.add(digest(tar));
            byte[] blob = tar;
            if (gzip) {
                ByteArrayOutputStream b = new ByteArrayOutputStream();
                try (OutputStream o = new GzipCompressorOutputStream(b)) {
                    o.write(tar);
                }
                blob = b.toByteArray();
            }
            JsonObject l = descriptor("application/vnd.oci.image.layer.v1.tar" + (gzip ? "+gzip" : ""), blob(blobs, blob), blob.length);
            layers.add(l);
        }
        JsonObject config = new JsonObject();
        config.addProperty("architecture", "amd64");
        config.addProperty("os", "linux");
        JsonObject rootfs = new JsonObject();
        rootfs.addProperty("type", "layers");
        rootfs.add("diff_ids", diffIds);
        config.add("rootfs", rootfs);
        byte[] c = config.toString().getBytes(StandardCharsets.UTF_8);
        JsonObject manifest = new JsonObject();
        manifest.addProperty("schemaVersion", 2);
        manifest.addProperty("mediaType", "application/vnd.oci.image.manifest.v1+json");
        manifest.add("config", descriptor("application/vnd.oci.image.config.v1+json", blob(blobs, c), c.length));
        manifest.add("layers", layers);
        byte[] m = manifest.toString().getBytes(StandardCharsets.UTF_8);
        JsonObject md = descriptor("application/vnd.oci.image.manifest.v1+json", blob(blobs, m), m.length);
        JsonObject ann = new JsonObject();
        ann.addProperty("org.opencontainers.image.ref.name", "bench");
        md.add("annotations", ann);
        JsonObject index = new JsonObject();
        index.addProperty("schemaVersion", 2);
        JsonArray ms = new JsonArray();
        ms.add(md);
        index.add("manifests", ms);
        Files.writeString(dir.resolve("index.json"), index.toString());
    }

    private static JsonObject descriptor(String mediaType, String digest, long size) {
        JsonObject d = new JsonObject();
        d.addProperty("mediaType", mediaType);
        d.addProperty("digest", digest);
        d.addProperty("size", size);
        return d;
    }

    private static String blob(Path blobs, byte[] content) throws IOException {
        String d = digest(content);
        Files.write(blobs.resolve(d.substring(7)), content);
        return d;
    }

    private static String digest(byte[] b) {
        try {
            return "sha256:" + HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static void remove(Path root) throws IOException {
        if (!Files.exists(root)) {
            return;
        }
        Files.walkFileTree(root, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult visitFile(Path f, BasicFileAttributes a) throws IOException {
                Files.delete(f);
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult postVisitDirectory(Path d, IOException e) throws IOException {
                Files.delete(d);
                return FileVisitResult.CONTINUE;
            }
        });
    }
}
