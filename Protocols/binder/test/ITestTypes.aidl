package binder.test;

import binder.test.ITestCallback;
import binder.test.Pair;

/**
 * Every type binder-aidl supports, for the round-trip test through a real binderd
 * (Tests/BinderIntegrationTests/AIDLRoundTripTests.swift). `binder test-types serve` serves it;
 * each method returns what it was given, or a transformation of it the test can check.
 */
interface ITestTypes {
    const int VERSION = 3;
    const String GREETING = "hello" + ", " + "binder";
    const long BIG = (1L << 40) | 0xFF;

    @Backing(type="byte")
    enum ByteEnum { A = 1, B, C = B * 2 }

    @Backing(type="int")
    enum IntEnum { FOO = 1000, BAR = FOO + 1, BAZ = -1 }

    @Backing(type="long")
    enum LongEnum { BIG = 1L << 40, SMALL = 1 }

    parcelable Simple {
        int number = 7;
        @utf8InCpp String text = "seven";
        @nullable String maybe;
        ByteEnum kind = ByteEnum.B;
    }

    union Value {
        int number;
        String text;
        Simple simple;
        int[] numbers;
        @nullable IntEnum[] enums;
    }

    /** All field types in one parcelable, with defaults. */
    parcelable AllTypes {
        const int MAGIC = 0x4154;
        boolean z = true;
        byte b = -3;
        char c = 'A';
        int i = 1 << 10;
        long l = BIG;
        float f = 1.5f;
        double d = 2.25;
        String s = GREETING;
        @nullable String ns;
        int[] ints = {1, 2, 3};
        byte[] bytes;
        @nullable String[] strings;
        long[4] fixed;
        byte[2] fixedBytes = {1, 2};
        List<String> list;
        Map<String, Simple> map;
        Simple simple;
        @nullable Simple maybeSimple;
        Simple[] simples;
        IntEnum intEnum = IntEnum.BAR;
        LongEnum[] longEnums;
        Value value;
        @nullable IBinder binder;
        /** Fixed-size arrays of types with no default are optional fields in Swift, like the types. */
        IBinder[2] binderPair;
        @nullable ITestCallback callback;
        Pair<String, Simple> pair;
        /** A parcelable can hold itself through @nullable(heap=true). */
        @nullable(heap=true) AllTypes next;
    }

    boolean repeatBoolean(boolean v);
    byte repeatByte(byte v);
    char repeatChar(char v);
    int repeatInt(int v);
    long repeatLong(long v);
    float repeatFloat(float v);
    double repeatDouble(double v);
    @utf8InCpp String repeatString(@utf8InCpp String v);
    @nullable String repeatNullableString(@nullable String v);

    /** Returns `v` reversed and also copies it into `copy`. */
    int[] reverseInts(in int[] v, out int[] copy);
    byte[] repeatBytes(in byte[] v);
    @nullable String[] repeatNullableStrings(in @nullable String[] v);
    long[4] repeatFixed(in long[4] v);
    List<String> repeatList(in List<String> v);
    Map<String, Simple> repeatMap(in Map<String, Simple> v);
    AllTypes repeatAllTypes(in AllTypes v);
    @nullable Simple repeatNullableSimple(in @nullable Simple v);
    ByteEnum repeatByteEnum(ByteEnum v);
    IntEnum[] repeatIntEnums(in IntEnum[] v);
    Value repeatValue(in Value v);
    Pair<String, Simple> repeatPair(in Pair<String, Simple> v);

    /** Fills `result` with AllTypes' defaults, changed by `seed`. */
    void fillOut(int seed, out AllTypes result);
    /** Doubles every element of `values` and `simple.number`. */
    void doubleInOut(inout int[] values, inout Simple simple);

    /** Calls `callback.name()` back (two-way, during this call) and returns it with `suffix`. */
    @utf8InCpp String callBack(ITestCallback callback, @utf8InCpp String suffix);
    /** Returns the callback it was given (the client gets its own object back). */
    ITestCallback repeatCallback(ITestCallback callback);
    IBinder repeatBinder(IBinder binder);

    /** One-way: records `n`; `lastOneway` reads it back. Calls to one object arrive in order. */
    oneway void sendOneway(int n);
    int lastOneway();

    /** Fails with EX_SERVICE_SPECIFIC `code` and `message`. */
    void throwServiceSpecific(int code, @utf8InCpp String message);

    /** Returns an fd for the same open file (TODO: round trip once fd passing lands). */
    @nullable ParcelFileDescriptor repeatFd(in @nullable ParcelFileDescriptor fd);

    /** The caller's uid, as the broker stamped it (TransactionContext.current). */
    int callingUid();
}
