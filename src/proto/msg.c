/* msg.c: being written */
