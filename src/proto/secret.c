/* secret.c: being written */
