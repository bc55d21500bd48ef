package dev.isolation.examples.judge;

import java.nio.file.Path;
import java.util.List;

/** The languages the judge compiles, by the source file's extension. */
enum Language {
    C("main.c", "gcc", "-std=gnu17"),
    CPP("main.cpp", "g++", "-std=gnu++17");

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

    /** Where the source goes, inside the sandbox. */
    String sourcePath() {
        return "/box/" + sourceFile;
    }

    List<String> compileCommand() {
        return List.of(compiler, standard, "-O2", "-pipe", "-o", PROGRAM, sourcePath(), "-lm");
    }
}
