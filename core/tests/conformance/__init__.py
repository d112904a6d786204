"""The conformance kit's own tests (a package, so its modules share ``kitrun``)."""
