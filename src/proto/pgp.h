/* pgp.h: being written */
