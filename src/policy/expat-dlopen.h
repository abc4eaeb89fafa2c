/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* libexpat, loaded for the parse that needs it and unloaded after. The
 * daemon reads the .policy file once, at start-up: an idle daemon has no use
 * for the library, and keeping it mapped keeps the pages the parse touched
 * resident (about 180 KiB of RSS). The functions keep their libexpat names
 * and types (typeof of the header's declarations). */

#include <expat.h>

typedef struct Expat {
        void *dl;
        typeof(XML_ParserCreate) *ParserCreate;
        typeof(XML_ParserFree) *ParserFree;
        typeof(XML_SetUserData) *SetUserData;
        typeof(XML_SetElementHandler) *SetElementHandler;
        typeof(XML_SetCharacterDataHandler) *SetCharacterDataHandler;
        typeof(XML_SetEntityDeclHandler) *SetEntityDeclHandler;
        typeof(XML_Parse) *Parse;
        typeof(XML_StopParser) *StopParser;
        typeof(XML_GetCurrentLineNumber) *GetCurrentLineNumber;
        typeof(XML_GetErrorCode) *GetErrorCode;
        typeof(XML_ErrorString) *ErrorString;
} Expat;

/* 0, or -ELIBACC with what dlopen()/dlsym() said in *ret_why. */
int expat_open(Expat *ret, const char **ret_why);
void expat_close(Expat *e);
