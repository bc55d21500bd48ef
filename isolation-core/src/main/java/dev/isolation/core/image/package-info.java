/**
 * Container images as a sandbox's root file system: {@link dev.isolation.core.image.OciImage}
 * reads an OCI image layout, an OCI archive or a docker-archive, checks every blob against its
 * digest, unpacks its layers into a per-user layer cache and gives {@code
 * Sandbox.Builder.image(OciImage)} the layers (bottom first) and the config's run defaults.
 * A bad image is an {@link dev.isolation.core.image.ImageException} whose {@link
 * dev.isolation.core.image.ImageException.Reason} says what was wrong with it.
 *
 * <p>Running on an image needs overlayfs and Linux 5.12 or later as root; in a user namespace
 * (an ordinary JVM) overlayfs must be mountable there, Linux 5.11 or later, and unpacking as an
 * ordinary user needs 5.8 or later (whiteouts).
 *
 * @since 0.1.0
 */
package dev.isolation.core.image;
