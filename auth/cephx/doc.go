// Package cephx implements Ceph's cephx authentication over msgr2.
//
// Client: a Session holds a principal's key, its global id and its tickets,
// shared by every connection of a MonClient and its messenger. It is an
// auth.Credentials: ClientHandler(mon) returns a MonHandler (AUTH_REQUEST
// with the name and global id, the key proof answering the mon's
// challenge, then AUTH_DONE's tickets and connection secret);
// ClientHandler(osd/mgr/mds) returns an AuthorizerHandler (the service's
// ticket with an authorizer, the CEPHX_V2 challenge answered, the
// service's nonce+1 checked). Tickets expire: the Session is an
// auth.Renewer that renews them over MAuth on the open mon session.
//
// Server: a Server is what a mon runs (ServerHandler per connection: the
// challenge, the proof checked against the keyring, tickets sealed with
// the ServiceSecrets, refusals with Ceph's errnos); an AuthorizerServer is
// what an OSD runs to check authorizers.
//
// Payloads passed to and returned from the handlers are the contents of
// the frames' bufferlist fields, without their u32 length.
package cephx
