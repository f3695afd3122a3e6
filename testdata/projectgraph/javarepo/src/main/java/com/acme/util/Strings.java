package com.acme.util;

public final class Strings {
    private Strings() {}

    /** Pads s with spaces to width n. */
    public static String pad(String s, int n) {
        return String.format("%-" + n + "s", s);
    }
}
