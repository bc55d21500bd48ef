package dev.isolation.core.image;

import java.nio.file.Path;

/** A second JVM's unpack of the same image, for {@link ImageReadIT}: prints the layer directories. */
public final class UnpackMain {
    private UnpackMain() {}

    public static void main(String[] args) throws Exception {
        OciImage image = OciImage.reader().cache(Path.of(args[1])).open(Path.of(args[0]), args[2]);
        image.layerDirectories().forEach(System.out::println);
    }
}
