"""The seed's vhost as a fixture: TLS at the front through mod_ssl, HTTPS members
through SSLProxyEngine, sticky on JSESSIONID routes issued by the backends."""
import collections

from harness import Client, field, new_sessions


def seed_vhost(port, certs, members):
    ca, crt, key = certs
    lines = "\n".join(f'    BalancerMember "{url}" route={route} loadfactor=1'
                      for url, route in members)
    # The blog post's vhost, with its missing closing tags added and 2.4 access
    # control in place of Order/Allow.
    return f"""
SSLSessionCache "shmcb:sslcache(512000)"
<VirtualHost 127.0.0.1:{port}>
    ServerName localhost
    ServerAlias localhost
    ProxyRequests Off
    SSLEngine On
    SSLProxyEngine On
    SSLProxyVerify none
    SSLProxyCheckPeerName off
    SSLCertificateFile "{crt}"
    SSLCertificateKeyFile "{key}"
    <Proxy *>
        Require all granted
    </Proxy>
    ProxyPass /balancer-manager !
    ProxyPass / balancer://wso2.identity.domain/ lbmethod=byrequests stickysession=JSESSIONID
    ProxyPassReverse / {members[0][0]}/
    ProxyPassReverse / {members[1][0]}/
    <Proxy balancer://wso2.identity.domain>
{lines}
    </Proxy>
</VirtualHost>
"""


def test_seed_vhost_tls_front_https_members(backends, httpd, certs):
    ca, crt, key = certs
    n1, n2 = backends(("node1", "isNode1"), ("node2", "isNode2"), tls=(crt, key))
    h = httpd("", tls=True, start=False)
    h.write_config(seed_vhost(h.port, certs, [(n1.url, "isNode1"), (n2.url, "isNode2")]))
    h.start()
    cl = Client(h.port, tls_ca=ca)  # verifies the front against the CA, never -k
    sessions = new_sessions(cl, 8, path="/carbon/", route_field="route")
    assert collections.Counter(sessions.values()) == {"node1": 4, "node2": 4}
    for session, owner in sessions.items():
        for i in range(2, 6):
            status, _, body, _ = cl.request("/carbon/admin", headers={"Cookie": session})
            assert status == 200 and field(body, "backend") == owner
            assert field(body, "count") == str(i)  # the node's own session counter
