package dev.isolation.examples.judge;

import java.nio.file.Path;
import java.util.List;

/** The languages the judge compiles, by the source file's extension or by name. */
enum Language {
    C("main.c", "gcc", "-std=gnu17"),
    CPP("main.cpp", "g++", "-std=gnu++17"),
    /**
     * A POSIX shell script: its "compilation" is {@code sh -n} (a syntax check, so a script that
     * does not parse is a compile error), after which it is installed as the program with a
     * {@code #!/bin/sh} line. Cheap to judge, which makes it the language of the scale tests.
     */
    SH("main.sh", "sh", "-n");

    /** Where the compiled program is, inside the sandbox. */
    static final String PROGRAM = "/box/main";

    private final String sourceFile;
    private final String compiler;
    private final String standard;

    Language(String sourceFile, String compiler, String standard) {
        this.sourceFile = sourceFile;
        this.compiler = compiler;
        this.standard = standard;
    }

    /** @throws IllegalArgumentException naming the file if its extension is neither C's nor C++'s */
    static Language of(Path source) {
        String name = source.getFileName().toString();
        String ext = name.substring(name.lastIndexOf('.') + 1);
        if (ext.equals("c")) {
            return C;
        }
        if (List.of("cc", "cpp", "cxx", "c++", "C").contains(ext)) {
            return CPP;
        }
        throw new IllegalArgumentException("cannot tell the language of " + source + ": expected .c (C) or .cc, .cpp,"
                + " .cxx (C++)");
    }

    /**
     * The language named {@code name} as submissions name it: {@code c}, {@code cpp} (or
     * {@code c++}), {@code sh}; case does not matter.
     *
     * @throws IllegalArgumentException naming the accepted names if {@code name} is none of them
     */
    static Language named(String name) {
        return switch (name.toLowerCase(java.util.Locale.ROOT)) {
            case "c" -> C;
            case "cpp", "c++" -> CPP;
            case "sh" -> SH;
            default -> throw new IllegalArgumentException("unknown language \"" + name + "\": expected c, cpp or sh");
        };
    }

    /** Where the source goes, inside the sandbox. */
    String sourcePath() {
        return "/box/" + sourceFile;
    }

    List<String> compileCommand() {
        if (this == SH) {
            return List.of("sh", "-c", "sh -n " + sourcePath() + " && { echo '#!/bin/sh'; cat " + sourcePath() + "; } > "
                    + PROGRAM + " && chmod 755 " + PROGRAM);
        }
        return List.of(compiler, standard, "-O2", "-pipe", "-o", PROGRAM, sourcePath(), "-lm");
    }
}
