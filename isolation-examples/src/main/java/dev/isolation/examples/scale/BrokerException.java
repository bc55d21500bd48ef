package dev.isolation.examples.scale;

import java.io.IOException;

/** The broker could not be reached or refused an operation; the message names the URL or the operation. */
public final class BrokerException extends IOException {
    private static final long serialVersionUID = 1L;

    BrokerException(String message) {
        super(message);
    }

    BrokerException(String message, Throwable cause) {
        super(message, cause);
    }
}
