/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <dlfcn.h>
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "expat-dlopen.h"
#include "macro.h"

/* The ABI the header describes: libexpat 2.x. */
#define EXPAT_SONAME "libexpat.so.1"

#define SYMBOL(name) { "XML_" #name, offsetof(Expat, name) }
static const struct {
        const char *name;
        size_t offset;
} symbols[] = {
        SYMBOL(ParserCreate),
        SYMBOL(ParserFree),
        SYMBOL(SetUserData),
        SYMBOL(SetElementHandler),
        SYMBOL(SetCharacterDataHandler),
        SYMBOL(SetEntityDeclHandler),
        SYMBOL(Parse),
        SYMBOL(StopParser),
        SYMBOL(GetCurrentLineNumber),
        SYMBOL(GetErrorCode),
        SYMBOL(ErrorString),
};

int expat_open(Expat *ret, const char **ret_why) {
        Expat e = {};

        e.dl = dlopen(EXPAT_SONAME, RTLD_NOW | RTLD_LOCAL);
        if (!e.dl) {
                *ret_why = dlerror();
                return -ELIBACC;
        }
        for (size_t i = 0; i < ELEMENTSOF(symbols); i++) {
                void *f = dlsym(e.dl, symbols[i].name);
                if (!f) {
                        *ret_why = dlerror();
                        dlclose(e.dl);
                        return -ELIBACC;
                }
                memcpy((char *) &e + symbols[i].offset, &f, sizeof f);
        }
        *ret = e;
        return 0;
}

void expat_close(Expat *e) {
        if (e->dl)
                dlclose(e->dl);
        *e = (Expat) {};
}
