/* Registers the built-in modules on a new server. */
#include "server/server_int.h"
#include "modules/modules.h"

int xi_modules_register(xmppcore_server *s)
{
    int rc = xi_mod_ping_register(s);
    if (rc == 0)
        rc = xi_mod_disco_register(s);
    if (rc == 0)
        rc = xi_mod_version_register(s);
    return rc;
}
