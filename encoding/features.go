package encoding

// Ceph feature bits (src/include/ceph_features.h). Bits were reused over
// time; a reused bit is only trusted together with an "incarnation" bit
// that every peer of that era also sets. So each constant below is Ceph's
// CEPH_FEATUREMASK_*: the bit plus its incarnation, and HasFeatures must be
// used to test it (a plain features&bit != 0 would misread an old peer).
const (
	featureIncarnation1 uint64 = 0
	featureIncarnation2 uint64 = 1 << 57 // SERVER_JEWEL
	featureIncarnation3 uint64 = 1<<57 | 1<<28
)

// Feature masks, CEPH_FEATUREMASK_* in Ceph.
const (
	FeatureUID                   uint64 = 1<<0 | featureIncarnation1
	FeatureNoSrcAddr             uint64 = 1<<1 | featureIncarnation1
	FeatureServerNautilus        uint64 = 1<<2 | featureIncarnation3
	FeatureFlock                 uint64 = 1<<3 | featureIncarnation1
	FeatureSubscribe2            uint64 = 1<<4 | featureIncarnation1
	FeatureMonNames              uint64 = 1<<5 | featureIncarnation1
	FeatureReconnectSeq          uint64 = 1<<6 | featureIncarnation1
	FeatureDirLayoutHash         uint64 = 1<<7 | featureIncarnation1
	FeatureObjectLocator         uint64 = 1<<8 | featureIncarnation1
	FeaturePGID64                uint64 = 1<<9 | featureIncarnation1
	FeatureIncSubOSDMap          uint64 = 1<<10 | featureIncarnation1
	FeaturePGPool3               uint64 = 1<<11 | featureIncarnation1
	FeatureOSDReplyMux           uint64 = 1<<12 | featureIncarnation1
	FeatureOSDEnc                uint64 = 1<<13 | featureIncarnation1
	FeatureServerKraken          uint64 = 1<<14 | featureIncarnation2
	FeatureMonEnc                uint64 = 1<<15 | featureIncarnation1
	FeatureServerOctopus         uint64 = 1<<16 | featureIncarnation3
	FeatureOSDRepopMLCOD         uint64 = 1<<16 | featureIncarnation3
	FeatureOSPerfStatNS          uint64 = 1<<17 | featureIncarnation3
	FeatureCrushTunables         uint64 = 1<<18 | featureIncarnation1
	FeatureOSDPGLogHardLimit     uint64 = 1<<19 | featureIncarnation2
	FeatureServerPacific         uint64 = 1<<20 | featureIncarnation3
	FeatureServerLuminous        uint64 = 1<<21 | featureIncarnation2
	FeatureResendOnSplit         uint64 = 1<<21 | featureIncarnation2
	FeatureRadosBackoff          uint64 = 1<<21 | featureIncarnation2
	FeatureOSDMapPGUpmap         uint64 = 1<<21 | featureIncarnation2
	FeatureCrushChooseArgs       uint64 = 1<<21 | featureIncarnation2
	FeatureOSDFixedCollList      uint64 = 1<<22 | featureIncarnation2
	FeatureMsgAuth               uint64 = 1<<23 | featureIncarnation1
	FeatureRecoveryReservation2  uint64 = 1<<24 | featureIncarnation2
	FeatureCrushTunables2        uint64 = 1<<25 | featureIncarnation1
	FeatureCreatePoolID          uint64 = 1<<26 | featureIncarnation1
	FeatureReplyCreateInode      uint64 = 1<<27 | featureIncarnation1
	FeatureServerMimic           uint64 = 1<<28 | featureIncarnation2
	FeatureMDSEnc                uint64 = 1<<29 | featureIncarnation1
	FeatureOSDHashPSPool         uint64 = 1<<30 | featureIncarnation1
	FeatureMonSinglePaxos        uint64 = 1<<31 | featureIncarnation1
	FeatureStretchMode           uint64 = 1<<32 | featureIncarnation3
	FeatureServerQuincy          uint64 = 1<<33 | featureIncarnation3
	FeatureOSDCachePool          uint64 = 1<<35 | featureIncarnation1
	FeatureCrushV2               uint64 = 1<<36 | featureIncarnation1
	FeatureExportPeer            uint64 = 1<<37 | featureIncarnation1
	FeatureOSDMapEnc             uint64 = 1<<39 | featureIncarnation1
	FeatureMDSInlineData         uint64 = 1<<40 | featureIncarnation1
	FeatureCrushTunables3        uint64 = 1<<41 | featureIncarnation1
	FeatureOSDPrimaryAffinity    uint64 = 1<<41 | featureIncarnation1
	FeatureMsgrKeepalive2        uint64 = 1<<42 | featureIncarnation1
	FeatureOSDPoolResend         uint64 = 1<<43 | featureIncarnation1
	FeatureOSDFadviseFlags       uint64 = 1<<46 | featureIncarnation1
	FeatureOSDRepop              uint64 = 1<<46 | featureIncarnation1
	FeatureOSDObjectDigest       uint64 = 1<<46 | featureIncarnation1
	FeatureOSDTxnMayLayout       uint64 = 1<<46 | featureIncarnation1
	FeatureMDSQuota              uint64 = 1<<47 | featureIncarnation1
	FeatureCrushV4               uint64 = 1<<48 | featureIncarnation1
	FeatureNewOSDOpEncoding      uint64 = 1<<56 | featureIncarnation1
	FeatureMonStatefulSub        uint64 = 1<<57 | featureIncarnation1
	FeatureMonRouteOSDMap        uint64 = 1<<57 | featureIncarnation1
	FeatureServerJewel           uint64 = 1<<57 | featureIncarnation1
	FeatureCrushTunables5        uint64 = 1<<57 | featureIncarnation1
	FeatureNewOSDOpReplyEncoding uint64 = 1<<58 | featureIncarnation1
	FeatureFSFileLayoutV2        uint64 = 1<<58 | featureIncarnation1
	FeatureFSBtime               uint64 = 1<<59 | featureIncarnation1
	FeatureFSChangeAttr          uint64 = 1<<59 | featureIncarnation1
	FeatureMsgAddr2              uint64 = 1<<59 | featureIncarnation1
	FeatureOSDRecoveryDeletes    uint64 = 1<<60 | featureIncarnation1
	FeatureCephxV2               uint64 = 1<<61 | featureIncarnation1
)

// FeaturesAll is CEPH_FEATURES_ALL as Ceph 16.2.15 (Pacific) advertises it
// in CLIENT_IDENT and SERVER_IDENT (read from the captured streams).
const FeaturesAll uint64 = 0x3f01cfbdfffdffff

// Msgr2FrameFeatures is what msgr2 assumes of every peer when it encodes
// the addresses inside control frames (msgr2_frame_assumed): MSG_ADDR2 and
// SERVER_NAUTILUS, whatever the peer advertised.
const Msgr2FrameFeatures uint64 = FeatureMsgAddr2 | FeatureServerNautilus

// HasFeatures reports whether features contains every bit of mask
// (Ceph's HAVE_FEATURE with a CEPH_FEATUREMASK_*).
func HasFeatures(features, mask uint64) bool { return features&mask == mask }
