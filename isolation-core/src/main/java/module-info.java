/**
 * Sandboxes for untrusted programs: {@link dev.isolation.core.Sandbox}, {@link
 * dev.isolation.core.IsolatedProcess}, sessions, images ({@code dev.isolation.core.image}), and JUnit 5 support ({@code
 * dev.isolation.core.junit}, which needs {@code org.junit.jupiter.api} only when used).
 *
 * <p>Exports its API packages, and the two packages of jnr-ffi bindings ({@code internal.linux},
 * {@code internal.seccomp}), which are not API: jnr-ffi generates their implementations in a class
 * loader of its own, whose unnamed module must be able to see the binding interfaces.
 */
@SuppressWarnings({"requires-automatic", "requires-transitive-automatic"})
module dev.isolation.core {
    requires transitive dev.isolation.cgroups;
    requires org.jnrproject.ffi;
    requires org.jnrproject.posix;
    requires org.jnrproject.constants;
    // jnr-ffi is an automatic module and does not say that it needs ASM, which it generates the
    // bindings with: without these the module path has no ASM (NoClassDefFoundError: ClassVisitor)
    requires org.objectweb.asm;
    requires org.objectweb.asm.commons;
    requires org.objectweb.asm.tree;
    requires org.objectweb.asm.tree.analysis;
    requires org.objectweb.asm.util;
    requires static org.junit.jupiter.api;
    // images: tar, gzip and zstd layers (zstd-jni through Commons Compress), manifests and configs
    requires org.apache.commons.compress;
    requires com.github.luben.zstd_jni;
    requires com.google.gson;

    exports dev.isolation.core;
    exports dev.isolation.core.junit;
    exports dev.isolation.core.image;
    exports dev.isolation.core.internal.linux;
    exports dev.isolation.core.internal.seccomp;
}
