/* pgp.c: being written */
