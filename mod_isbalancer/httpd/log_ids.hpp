// Stable message IDs for every line mod_isbalancer writes to the error log.
// Never reuse a number; add new ones at the end.
//
//   ISB00001 emerg   mod_proxy_balancer or a stock lbmethod module is loaded too
//   ISB00002 emerg   mod_proxy is not loaded, or lacks a function we need
//   ISB00003 emerg   shared segment: sizes overflow
//   ISB00004 emerg   shared segment: apr_shm_create failed
//   ISB00005 emerg   shared segment: could not be formatted
//   ISB00006 emerg   ap_proxy_share_balancer / ap_proxy_share_worker failed
//   ISB00007 notice  shared segment created (size, members, balancers)
//   ISB00008 notice  shared segment kept across a graceful restart
//   ISB00009 emerg   balancer uses an lbmethod that is not ours
//   ISB00010 error   nofailover: the session's route is down (503)
//   ISB00011 error   no usable member in the balancer (503)
//   ISB00012 error   failonstatus put a member into error
//   ISB00013 error   failontimeout put a member into error
//   ISB00014 warn    forcerecovery put every member back into service
//   ISB00015 error   bad balancer URL in the canon handler (400)
//   ISB00016 debug   routing decision
//   ISB00017 error   unexpected exception caught at the httpd boundary
//   ISB00018 crit    child could not see the shared segment
//   ISB00019 info    balancer-manager: a method other than GET and POST refused (405)
//   ISB00020 info    balancer-manager: a malformed request or invalid field refused (4xx)
//   ISB00021 emerg   no random bytes for a balancer's nonce
//   ISB00022 warn    a saved runtime edit no longer fits the configuration; skipped
//   ISB00023 notice  runtime edits restored (graceful restart or BalancerPersist)
//   ISB00024 error   the BalancerPersist state file cannot be written
//   ISB00025 warn    a line of an intact BalancerPersist state file is malformed; skipped
//   ISB00026 info    balancer-manager: edit from a foreign origin refused (403)
//   ISB00027 info    balancer-manager: edit with a missing or wrong nonce refused (403)
//   ISB00028 notice  balancer-manager: edit applied (who, what, old -> new)
//   ISB00029 info    balancer-manager: edit refused: conflict (409), no such member or
//                    health-check method (400), busy or restarting (503)
//   ISB00030 info    balancer-manager: a Host the virtual host does not answer to (403)
//   ISB00031-ISB00039 are left for the balancer-manager
//   ISB00040 notice  busy and retry-budget counts of children that died mid-request
//                    given back
//   ISB00041 debug   how member URLs are canonicalised (directly or by mod_proxy's hooks)
//   ISB00042 emerg   stickysession=|NAME names no cookie
//   ISB00043 warn    the BalancerPersist state file is refused as a whole (not a regular
//                    file, over 4 MiB, cut short, damaged, unknown version); config used
//   ISB00044 error   the BalancerPersist directory cannot be made or used (symlink, not a
//                    directory, foreign owner); edits are not saved
//   ISB00045 notice  saved edits read from an older build's state file (migration)
//   ISB00046 warn    a restart did not get a balancer's edit lock within 2 s
//   ISB00047 warn    a balancer in virtual hosts that no saved edit can tell apart
//   ISB00048 emerg   an ISBalancerSet / ISBalancerMemberSet line names no balancer or
//                    member of its server
//   ISB00049 warn    mod_watchdog is loaded but refused our once-a-second callback
//   ISB00050 warn    outlier ejection: a member ejected, for how long and why
//   ISB00051 warn    outlier ejection: a member reached a threshold but ejectpercent
//                    kept it in
//   ISB00052 error   a failover refused: the balancer's retry budget is spent (503)
//   ISB00053 error   a failover refused: the request body was read for the failed
//                    member and its scheme does not keep it (503)
#pragma once

#define ISB_LOGNO(n) "ISB" #n ": "
