package dev.isolation.core;

import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;

/**
 * The environment part of a sandbox policy, and the one function that turns it, the caller's
 * {@link ProcessBuilder} environment and the JVM's own environment into a program's environment.
 * Immutable.
 *
 * <p>A program's environment, later sources winning:
 * <ol>
 *   <li>the base: {@link Base#FIXED} ({@code PATH}, {@code HOME}, and {@code LANG}, {@code LC_ALL},
 *       {@code TERM} with the JVM's values where the JVM has them), {@link Base#INHERIT} (the JVM's
 *       whole environment) or {@link Base#EMPTY};
 *   <li>the variables passed through by name: the JVM's value, where it has one;
 *   <li>the policy's own variables;
 *   <li>the caller's changes: each variable of the {@code ProcessBuilder} whose value is not the
 *       JVM's (or that the JVM lacks) is set; each variable of the JVM that the caller removed has
 *       the JVM's value withheld (from 1 and 2; a value the policy gives stays).
 * </ol>
 * A variable the caller put with exactly the JVM's value cannot be told from an inherited one and
 * is treated as inherited: pass such a variable by name.
 */
final class Environment {
    /** Where a program's environment starts. */
    enum Base {
        /** PATH, HOME, and LANG, LC_ALL, TERM copied from the JVM where set. */
        FIXED,
        /** Nothing. */
        EMPTY,
        /** The JVM's whole environment. */
        INHERIT
    }

    /** The variables of the fixed base whose values are the JVM's, where the JVM has them. */
    static final List<String> FROM_JVM = List.of("LANG", "LC_ALL", "TERM");

    static final Environment DEFAULT = new Environment(Base.FIXED, Map.of(), Set.of());

    private final Base base;
    private final Map<String, String> set; // insertion order
    private final Set<String> passed; // insertion order; disjoint from set's names

    private Environment(Base base, Map<String, String> set, Set<String> passed) {
        this.base = base;
        this.set = set;
        this.passed = passed;
    }

    Base base() {
        return base;
    }

    Environment withBase(Base newBase) {
        return new Environment(Objects.requireNonNull(newBase), set, passed);
    }

    /** The policy sets {@code name} to {@code value}; replaces passing it through. */
    Environment withVariable(String name, String value) {
        checkName("env", name);
        Objects.requireNonNull(value, "env: value of " + name);
        if (value.indexOf('\0') >= 0) {
            throw new IllegalArgumentException("env: the value of " + name + " contains a NUL character");
        }
        Map<String, String> s = new LinkedHashMap<>(set);
        s.put(name, value);
        Set<String> p = new LinkedHashSet<>(passed);
        p.remove(name);
        return new Environment(base, unmodifiable(s), unmodifiable(p));
    }

    /**
     * {@code defaults} ({@code NAME=value} strings, an image's {@code Env}) as policy variables
     * under those the policy sets or passes through itself; a string without '=' is ignored.
     */
    Environment withDefaults(List<String> defaults) {
        Map<String, String> s = new LinkedHashMap<>();
        for (String d : defaults) {
            int eq = d.indexOf('=');
            if (eq > 0 && d.indexOf('\0') < 0 && !passed.contains(d.substring(0, eq))) {
                s.put(d.substring(0, eq), d.substring(eq + 1));
            }
        }
        s.putAll(set);
        return new Environment(base, unmodifiable(s), passed);
    }

    /** The JVM's value of {@code name}, where it has one, is passed through; replaces a value the policy set. */
    Environment withPassed(String name) {
        checkName("passEnv", name);
        Map<String, String> s = new LinkedHashMap<>(set);
        s.remove(name);
        Set<String> p = new LinkedHashSet<>(passed);
        p.add(name);
        return new Environment(base, unmodifiable(s), unmodifiable(p));
    }

    private static void checkName(String what, String name) {
        Objects.requireNonNull(name, what + ": name");
        if (name.isEmpty() || name.indexOf('=') >= 0 || name.indexOf('\0') >= 0) {
            throw new IllegalArgumentException(what + ": \"" + name.replace('\0', '?')
                    + "\" is not a variable name (it must be non-empty, without '=' or NUL)");
        }
    }

    /**
     * The environment of a program started with {@code callers} (a {@link ProcessBuilder}'s
     * environment) when the JVM's environment is {@code jvm}, sorted by name.
     *
     * @param path the fixed base's {@code PATH}
     * @param home the fixed base's {@code HOME}
     */
    Map<String, String> resolve(Map<String, String> callers, Map<String, String> jvm, String path, String home) {
        Map<String, String> fromJvm = new LinkedHashMap<>();
        if (base == Base.INHERIT) {
            fromJvm.putAll(jvm);
        } else if (base == Base.FIXED) {
            FROM_JVM.stream().filter(jvm::containsKey).forEach(name -> fromJvm.put(name, jvm.get(name)));
        }
        passed.stream().filter(jvm::containsKey).forEach(name -> fromJvm.put(name, jvm.get(name)));
        fromJvm.keySet().retainAll(callers.keySet()); // the caller removed these from its copy of the JVM's

        Map<String, String> result = new TreeMap<>();
        if (base == Base.FIXED) {
            result.put("PATH", path);
            result.put("HOME", home);
        }
        result.putAll(fromJvm);
        result.putAll(set);
        callers.forEach((name, value) -> {
            if (!value.equals(jvm.get(name))) {
                result.put(name, value);
            }
        });
        return unmodifiable(result);
    }

    private static <K, V> Map<K, V> unmodifiable(Map<K, V> m) {
        return java.util.Collections.unmodifiableMap(m);
    }

    private static <E> Set<E> unmodifiable(Set<E> s) {
        return java.util.Collections.unmodifiableSet(s);
    }

    /** The same base, variables and values set, and variables passed (in any order). */
    @Override
    public boolean equals(Object o) {
        return o instanceof Environment e && base == e.base && set.equals(e.set) && passed.equals(e.passed);
    }

    @Override
    public int hashCode() {
        return Objects.hash(base, set, passed);
    }

    @Override
    public String toString() {
        return "Environment[" + base + ", set " + set.keySet() + ", passed " + passed + "]";
    }
}
