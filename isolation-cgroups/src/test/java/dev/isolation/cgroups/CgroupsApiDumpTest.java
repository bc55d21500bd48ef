package dev.isolation.cgroups;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import java.io.IOException;
import java.io.InputStream;
import java.lang.annotation.Annotation;
import java.lang.annotation.Retention;
import java.lang.annotation.Target;
import java.lang.module.ModuleDescriptor;
import java.lang.reflect.Array;
import java.lang.reflect.Constructor;
import java.lang.reflect.Executable;
import java.lang.reflect.Field;
import java.lang.reflect.GenericArrayType;
import java.lang.reflect.Member;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.lang.reflect.ParameterizedType;
import java.lang.reflect.Type;
import java.lang.reflect.TypeVariable;
import java.lang.reflect.WildcardType;
import java.net.URISyntaxException;
import java.nio.file.FileSystem;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The public API of this module, as a checked-in dump ({@code api/isolation-cgroups.api}, like
 * OkHttp's {@code okhttp/api/okhttp.api}), and no internal type in it.
 *
 * <p>The API packages are those that {@code module-info} exports to everyone, less {@code internal}
 * ones. isolation-core's {@code dev.isolation.core.CoreApiDumpTest} is the same code (test sources are
 * not shared between modules): change both together.
 */
class CgroupsApiDumpTest {
    private static final Class<?> ANCHOR = ByteSize.class;
    private static final Path DUMP = Path.of("api", "isolation-cgroups.api");

    @Test
    void publicApiMatchesCheckedInDump() throws IOException {
        String actual = ApiDump.of(ANCHOR).text();
        if (Boolean.getBoolean("api.dump.write")) {
            Files.createDirectories(DUMP.getParent());
            Files.writeString(DUMP, actual);
            System.out.println("wrote " + DUMP.toAbsolutePath());
            return;
        }
        String expected = Files.exists(DUMP) ? Files.readString(DUMP) : "";
        if (!actual.equals(expected)) {
            fail("The public API changed. If that is intended, regenerate %s with%n"
                    + "  mvn -B test -pl %s -am -Dtest=CgroupsApiDumpTest -Dsurefire.failIfNoSpecifiedTests=false -Dapi.dump.write=true%n"
                    + "and commit it with the change. Lines only in the dump (-) and only in the code (+):%n%s",
                    DUMP, Path.of("").toAbsolutePath().getFileName(), ApiDump.diff(expected, actual));
        }
    }

    @Test
    void noInternalTypeInPublicApi() {
        ApiDump dump = ApiDump.of(ANCHOR);
        assertThat(dump.packages()).isNotEmpty().noneMatch(ApiDump::isInternal);
        assertThat(dump.internalTypeUses()).as("public or protected signatures that mention an internal type").isEmpty();
    }

    @Test
    void dumpSeesAnAddedPublicMethod() {
        // the dump must change when a public member appears: ByteSize's API, and again with one more method
        List<String> lines = ApiDump.typeLines(ByteSize.class);
        List<String> more = ApiDump.typeLines(WithOneMoreMethod.class);
        assertThat(lines).anyMatch(l -> l.contains("public static dev.isolation.cgroups.ByteSize mib(long)"));
        assertThat(more).contains("  public void added(java.util.List<? extends java.lang.Number>) throws java.io.IOException");
    }

    /** A stand-in for an API type that has gained a method. */
    public static final class WithOneMoreMethod {
        public void added(List<? extends Number> numbers) throws IOException {}
    }

    /**
     * Public and protected types and members of the API packages, one line each, sorted: what a
     * caller can compile against, with modifiers, generic signatures and thrown exceptions.
     */
    static final class ApiDump {
        private final Set<String> packages;
        private final List<Class<?>> types;

        private ApiDump(Set<String> packages, List<Class<?>> types) {
            this.packages = packages;
            this.types = types;
        }

        static ApiDump of(Class<?> anchor) {
            try {
                Path location = Path.of(anchor.getProtectionDomain().getCodeSource().getLocation().toURI());
                if (Files.isDirectory(location)) {
                    return read(location, anchor.getClassLoader());
                }
                try (FileSystem jar = FileSystems.newFileSystem(location)) {
                    return read(jar.getPath("/"), anchor.getClassLoader());
                }
            } catch (IOException | URISyntaxException e) {
                throw new IllegalStateException("cannot read the classes of " + anchor, e);
            }
        }

        private static ApiDump read(Path root, ClassLoader loader) throws IOException {
            ModuleDescriptor module;
            try (InputStream in = Files.newInputStream(root.resolve("module-info.class"))) {
                module = ModuleDescriptor.read(in);
            }
            Set<String> packages = module.exports().stream()
                    .filter(e -> !e.isQualified())
                    .map(ModuleDescriptor.Exports::source)
                    .filter(p -> !isInternal(p))
                    .collect(Collectors.toCollection(TreeSet::new));
            List<Class<?>> types = new ArrayList<>();
            for (String p : packages) {
                Path dir = root.resolve(p.replace('.', '/'));
                List<String> names;
                try (Stream<Path> s = Files.list(dir)) {
                    names = s.map(f -> f.getFileName().toString())
                            .filter(n -> n.endsWith(".class") && !n.contains("$") && !n.equals("package-info.class"))
                            .sorted().toList();
                }
                for (String n : names) {
                    try {
                        collect(Class.forName(p + "." + n.substring(0, n.length() - 6), false, loader), types);
                    } catch (ClassNotFoundException e) {
                        throw new IllegalStateException(e);
                    }
                }
            }
            types.sort((a, b) -> a.getName().compareTo(b.getName()));
            return new ApiDump(packages, types);
        }

        private static void collect(Class<?> c, List<Class<?>> into) {
            if (!exposed(c.getModifiers()) || c.isSynthetic() || c.isAnonymousClass() || c.isLocalClass()) {
                return;
            }
            into.add(c);
            for (Class<?> nested : c.getDeclaredClasses()) {
                collect(nested, into);
            }
        }

        static boolean isInternal(String packageName) {
            return Arrays.asList(packageName.split("\\.")).contains("internal");
        }

        Set<String> packages() {
            return packages;
        }

        String text() {
            StringBuilder sb = new StringBuilder();
            for (Class<?> c : types) {
                typeLines(c).forEach(l -> sb.append(l).append('\n'));
                sb.append('\n');
            }
            return sb.toString();
        }

        /** The type's header line, then one line per exposed member, sorted. */
        static List<String> typeLines(Class<?> c) {
            List<String> lines = new ArrayList<>();
            lines.add(header(c));
            TreeSet<String> members = new TreeSet<>();
            for (Field f : c.getDeclaredFields()) {
                if (visible(f)) {
                    members.add("  " + modifiers(f.getModifiers()) + name(f.getGenericType()) + " " + f.getName());
                }
            }
            for (Constructor<?> k : c.getDeclaredConstructors()) {
                if (visible(k)) {
                    members.add("  " + modifiers(k.getModifiers()) + typeParameters(k.getTypeParameters())
                            + c.getSimpleName() + signature(k));
                }
            }
            for (Method m : c.getDeclaredMethods()) {
                if (visible(m) && !m.isBridge()) {
                    int mods = m.getModifiers();
                    if (c.isInterface()) {
                        mods &= ~Modifier.PUBLIC; // implied; abstract is kept to tell default methods apart
                    }
                    String dflt = m.getDefaultValue() == null ? "" : " default " + value(m.getDefaultValue());
                    members.add("  " + modifiers(mods) + typeParameters(m.getTypeParameters())
                            + name(m.getGenericReturnType()) + " " + m.getName() + signature(m) + dflt);
                }
            }
            lines.addAll(members);
            return lines;
        }

        /** Each exposed signature that names a type of an internal package. */
        List<String> internalTypeUses() {
            List<String> uses = new ArrayList<>();
            for (Class<?> c : types) {
                List<Type> header = new ArrayList<>();
                header.add(c.getGenericSuperclass());
                header.addAll(Arrays.asList(c.getGenericInterfaces()));
                header.addAll(Arrays.asList(c.getTypeParameters()));
                if (c.isSealed()) {
                    header.addAll(Arrays.asList(c.getPermittedSubclasses()));
                }
                check(c.getName(), header, uses);
                for (Field f : c.getDeclaredFields()) {
                    if (visible(f)) {
                        check(c.getName() + "." + f.getName(), List.of(f.getGenericType()), uses);
                    }
                }
                List<Executable> code = new ArrayList<>(Arrays.asList(c.getDeclaredConstructors()));
                code.addAll(Arrays.asList(c.getDeclaredMethods()));
                for (Executable e : code) {
                    if (visible(e)) {
                        List<Type> ts = new ArrayList<>(Arrays.asList(e.getGenericParameterTypes()));
                        ts.addAll(Arrays.asList(e.getGenericExceptionTypes()));
                        ts.addAll(Arrays.asList(e.getTypeParameters()));
                        if (e instanceof Method m) {
                            ts.add(m.getGenericReturnType());
                        }
                        check(c.getName() + "." + e.getName() + signature(e), ts, uses);
                    }
                }
            }
            return uses;
        }

        private static void check(String where, List<Type> types, List<String> uses) {
            Set<Class<?>> raw = new LinkedHashSet<>();
            types.forEach(t -> rawTypes(t, raw, new java.util.HashSet<>()));
            for (Class<?> r : raw) {
                if (isInternal(r.getPackageName())) {
                    uses.add(where + " -> " + r.getName());
                }
            }
        }

        private static void rawTypes(Type t, Set<Class<?>> into, Set<Type> seen) {
            if (t == null || !seen.add(t)) {
                return;
            }
            if (t instanceof Class<?> c) {
                while (c.isArray()) {
                    c = c.getComponentType();
                }
                into.add(c);
                if (c.getEnclosingClass() != null) {
                    rawTypes(c.getEnclosingClass(), into, seen);
                }
            } else if (t instanceof ParameterizedType p) {
                rawTypes(p.getRawType(), into, seen);
                rawTypes(p.getOwnerType(), into, seen);
                Arrays.stream(p.getActualTypeArguments()).forEach(a -> rawTypes(a, into, seen));
            } else if (t instanceof GenericArrayType a) {
                rawTypes(a.getGenericComponentType(), into, seen);
            } else if (t instanceof WildcardType w) {
                Arrays.stream(w.getUpperBounds()).forEach(b -> rawTypes(b, into, seen));
                Arrays.stream(w.getLowerBounds()).forEach(b -> rawTypes(b, into, seen));
            } else if (t instanceof TypeVariable<?> v) {
                Arrays.stream(v.getBounds()).forEach(b -> rawTypes(b, into, seen));
            }
        }

        private static String header(Class<?> c) {
            StringBuilder sb = new StringBuilder();
            for (Annotation a : c.getDeclaredAnnotations()) {
                if (a instanceof Retention r) {
                    sb.append("@Retention(").append(r.value()).append(") ");
                } else if (a instanceof Target t) {
                    sb.append("@Target(").append(Arrays.stream(t.value()).map(Enum::name).sorted()
                            .collect(Collectors.joining(", "))).append(") ");
                } else if (a instanceof Deprecated) {
                    sb.append("@Deprecated ");
                }
            }
            int mods = c.getModifiers() & ~Modifier.INTERFACE;
            String kind;
            if (c.isAnnotation()) {
                kind = "@interface";
                mods &= ~(Modifier.ABSTRACT | Modifier.STATIC);
            } else if (c.isInterface()) {
                kind = "interface";
                mods &= ~(Modifier.ABSTRACT | Modifier.STATIC);
            } else if (c.isEnum()) {
                kind = "enum";
                mods &= ~(Modifier.FINAL | Modifier.STATIC | Modifier.ABSTRACT);
            } else if (c.isRecord()) {
                kind = "record";
                mods &= ~(Modifier.FINAL | Modifier.STATIC);
            } else {
                kind = "class";
            }
            sb.append(modifiers(mods)).append(c.isSealed() ? "sealed " : "").append(kind).append(' ').append(name(c))
                    .append(typeParameters(c.getTypeParameters()));
            Type sup = c.getGenericSuperclass();
            if (sup != null && sup != Object.class && !c.isEnum() && !c.isRecord()) {
                sb.append(" extends ").append(name(sup));
            }
            List<String> interfaces = Arrays.stream(c.getGenericInterfaces())
                    .map(ApiDump::name)
                    .filter(n -> !c.isAnnotation() || !n.equals(Annotation.class.getName()))
                    .toList();
            if (!interfaces.isEmpty()) {
                sb.append(c.isInterface() ? " extends " : " implements ").append(String.join(", ", interfaces));
            }
            if (c.isSealed()) {
                sb.append(" permits ").append(Arrays.stream(c.getPermittedSubclasses()).map(ApiDump::name)
                        .sorted().collect(Collectors.joining(", ")));
            }
            return sb.toString();
        }

        private static String signature(Executable e) {
            Type[] ps = e.getGenericParameterTypes();
            if (ps.length != e.getParameterCount()) {
                ps = e.getParameterTypes(); // inner-class and enum constructors: generic info leaves out synthetic parameters
            }
            List<String> names = new ArrayList<>();
            for (int i = 0; i < ps.length; i++) {
                String n = name(ps[i]);
                if (e.isVarArgs() && i == ps.length - 1 && n.endsWith("[]")) {
                    n = n.substring(0, n.length() - 2) + "...";
                }
                names.add(n);
            }
            String s = "(" + String.join(", ", names) + ")";
            Type[] ex = e.getGenericExceptionTypes();
            if (ex.length > 0) {
                s += " throws " + Arrays.stream(ex).map(ApiDump::name).sorted().collect(Collectors.joining(", "));
            }
            return s;
        }

        private static String typeParameters(TypeVariable<?>[] vs) {
            if (vs.length == 0) {
                return "";
            }
            return Arrays.stream(vs).map(v -> {
                List<String> bounds = Arrays.stream(v.getBounds()).filter(b -> b != Object.class).map(ApiDump::name).toList();
                return bounds.isEmpty() ? v.getName() : v.getName() + " extends " + String.join(" & ", bounds);
            }).collect(Collectors.joining(", ", "<", "> "));
        }

        private static String name(Type t) {
            if (t instanceof Class<?> c) {
                return c.isArray() ? name(c.getComponentType()) + "[]" : c.getName().replace('$', '.');
            }
            if (t instanceof ParameterizedType p) {
                String owner = p.getOwnerType() == null ? name(p.getRawType())
                        : name(p.getOwnerType()) + "." + ((Class<?>) p.getRawType()).getSimpleName();
                return owner + Arrays.stream(p.getActualTypeArguments()).map(ApiDump::name)
                        .collect(Collectors.joining(", ", "<", ">"));
            }
            if (t instanceof GenericArrayType a) {
                return name(a.getGenericComponentType()) + "[]";
            }
            if (t instanceof WildcardType w) {
                if (w.getLowerBounds().length > 0) {
                    return "? super " + name(w.getLowerBounds()[0]);
                }
                Type[] up = w.getUpperBounds();
                return up.length == 0 || up[0] == Object.class ? "?" : "? extends " + name(up[0]);
            }
            return t.getTypeName(); // a type variable
        }

        private static String value(Object v) {
            if (v.getClass().isArray()) {
                List<String> items = new ArrayList<>();
                for (int i = 0; i < Array.getLength(v); i++) {
                    items.add(value(Array.get(v, i)));
                }
                return "{" + String.join(", ", items) + "}";
            }
            if (v instanceof String s) {
                return '"' + s + '"';
            }
            if (v instanceof Class<?> c) {
                return name(c) + ".class";
            }
            if (v instanceof Enum<?> e) {
                return e.getDeclaringClass().getSimpleName() + "." + e.name();
            }
            return String.valueOf(v);
        }

        private static String modifiers(int mods) {
            String s = Modifier.toString(mods & ~(Modifier.SYNCHRONIZED | Modifier.NATIVE | Modifier.TRANSIENT
                    | Modifier.VOLATILE | Modifier.STRICT));
            return s.isEmpty() ? "" : s + " ";
        }

        private static boolean visible(Member m) {
            return exposed(m.getModifiers()) && !m.isSynthetic();
        }

        private static boolean exposed(int mods) {
            return Modifier.isPublic(mods) || Modifier.isProtected(mods);
        }

        /**
         * What changed, type by type: a type only in {@code expected} with "-", only in {@code
         * actual} with "+"; for a type in both, its header and then its members that changed.
         */
        static String diff(String expected, String actual) {
            java.util.Map<String, List<String>> e = blocks(expected);
            java.util.Map<String, List<String>> a = blocks(actual);
            TreeSet<String> headers = new TreeSet<>(e.keySet());
            headers.addAll(a.keySet());
            StringBuilder sb = new StringBuilder();
            for (String h : headers) {
                if (!a.containsKey(h)) {
                    sb.append("- ").append(h).append('\n');
                } else if (!e.containsKey(h)) {
                    sb.append("+ ").append(h).append('\n');
                } else if (!e.get(h).equals(a.get(h))) {
                    sb.append("  ").append(h).append('\n');
                    e.get(h).stream().filter(l -> !a.get(h).contains(l)).forEach(l -> sb.append("- ").append(l).append('\n'));
                    a.get(h).stream().filter(l -> !e.get(h).contains(l)).forEach(l -> sb.append("+ ").append(l).append('\n'));
                }
            }
            return sb.toString();
        }

        private static java.util.Map<String, List<String>> blocks(String dump) {
            java.util.Map<String, List<String>> blocks = new java.util.LinkedHashMap<>();
            for (String block : dump.split("\n\n")) {
                List<String> lines = block.lines().filter(l -> !l.isBlank()).toList();
                if (!lines.isEmpty()) {
                    blocks.put(lines.get(0), lines.subList(1, lines.size()));
                }
            }
            return blocks;
        }
    }
}
