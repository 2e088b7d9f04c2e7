// JeLoad is the test bed's busy FE: it writes to a BDB JE environment as
// fast as a heavily used StarRocks FE journal grows, with small log files
// (je.log.fileMax 1 MB) so that several .jdb files roll every second and
// the JE cleaner deletes old ones; and it verifies a copy of such an
// environment by opening it (JE recovery) and reading every record.
//
//   java JeLoad load   <env folder> <seconds> <MB per second>
//   java JeLoad verify <env folder>
//
// Each record's value carries its key, a sequence number and a CRC-32 of
// both and its payload, so a torn or mixed copy shows as a bad record.
import com.sleepycat.je.Cursor;
import com.sleepycat.je.Database;
import com.sleepycat.je.DatabaseConfig;
import com.sleepycat.je.DatabaseEntry;
import com.sleepycat.je.Durability;
import com.sleepycat.je.Environment;
import com.sleepycat.je.EnvironmentConfig;
import com.sleepycat.je.LockMode;
import com.sleepycat.je.OperationStatus;
import com.sleepycat.je.Transaction;
import com.sleepycat.je.VerifyConfig;
import java.io.File;
import java.nio.ByteBuffer;
import java.util.Random;
import java.util.zip.CRC32;

public class JeLoad {
    static final int KEYS = 20000; // overwritten again and again: the cleaner has work
    static final int VALUE = 1024;

    public static void main(String[] args) throws Exception {
        if (args.length >= 4 && args[0].equals("load")) {
            load(new File(args[1]), Integer.parseInt(args[2]), Double.parseDouble(args[3]));
        } else if (args.length == 2 && args[0].equals("verify")) {
            System.exit(verify(new File(args[1])));
        } else {
            System.err.println("usage: JeLoad load <dir> <seconds> <MB/s> | JeLoad verify <dir>");
            System.exit(2);
        }
    }

    static void load(File dir, int seconds, double mbPerSec) throws Exception {
        EnvironmentConfig ec = new EnvironmentConfig();
        ec.setAllowCreate(true);
        ec.setTransactional(true);
        ec.setDurability(Durability.COMMIT_WRITE_NO_SYNC);
        ec.setConfigParam(EnvironmentConfig.LOG_FILE_MAX, "1000000");
        ec.setConfigParam(EnvironmentConfig.CHECKPOINTER_BYTES_INTERVAL, "4000000");
        ec.setConfigParam(EnvironmentConfig.CLEANER_MIN_UTILIZATION, "60");
        Environment env = new Environment(dir, ec);
        DatabaseConfig dc = new DatabaseConfig();
        dc.setAllowCreate(true);
        dc.setTransactional(true);
        Database db = env.openDatabase(null, "load", dc);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                db.close();
                env.close();
            } catch (Exception e) {
                // the process is ending anyway
            }
        }));
        System.out.println("loading");
        System.out.flush();
        Random rnd = new Random();
        long start = System.nanoTime(), end = start + seconds * 1_000_000_000L, seq = 0, bytes = 0;
        while (System.nanoTime() < end) {
            Transaction txn = env.beginTransaction(null, null);
            for (int i = 0; i < 20; i++, seq++) {
                int k = rnd.nextInt(KEYS);
                db.put(txn, new DatabaseEntry(key(k)), new DatabaseEntry(value(k, seq, rnd)));
                bytes += VALUE + 64;
            }
            txn.commit();
            double ahead = bytes / (mbPerSec * 1e6) - (System.nanoTime() - start) / 1e9;
            if (ahead > 0.005) {
                Thread.sleep((long) (ahead * 1000));
            }
        }
    }

    static byte[] key(int k) {
        return ByteBuffer.allocate(4).putInt(k).array();
    }

    static byte[] value(int k, long seq, Random rnd) {
        ByteBuffer b = ByteBuffer.allocate(VALUE);
        b.putInt(k).putLong(seq);
        byte[] payload = new byte[VALUE - 20];
        rnd.nextBytes(payload);
        b.put(payload);
        CRC32 crc = new CRC32();
        crc.update(b.array(), 0, VALUE - 8);
        b.putLong(crc.getValue());
        return b.array();
    }

    // verify opens the copy read-write, as a restored FE does: JE recovery
    // may need to write (a read-only open can refuse a sound copy).
    static int verify(File dir) {
        EnvironmentConfig ec = new EnvironmentConfig();
        ec.setTransactional(true);
        try (Environment env = new Environment(dir, ec)) {
            DatabaseConfig dc = new DatabaseConfig();
            dc.setTransactional(true);
            try (Database db = env.openDatabase(null, "load", dc)) {
                db.verify(new VerifyConfig());
                long n = 0;
                DatabaseEntry k = new DatabaseEntry(), v = new DatabaseEntry();
                try (Cursor c = db.openCursor(null, null)) {
                    while (c.getNext(k, v, LockMode.READ_UNCOMMITTED) == OperationStatus.SUCCESS) {
                        ByteBuffer b = ByteBuffer.wrap(v.getData());
                        CRC32 crc = new CRC32();
                        crc.update(v.getData(), 0, VALUE - 8);
                        if (v.getSize() != VALUE || b.getInt(0) != ByteBuffer.wrap(k.getData()).getInt()
                                || b.getLong(VALUE - 8) != crc.getValue()) {
                            System.out.println("bad record for key " + ByteBuffer.wrap(k.getData()).getInt());
                            return 1;
                        }
                        n++;
                    }
                }
                System.out.println("ok records=" + n);
                return n > 0 ? 0 : 1;
            }
        } catch (Exception e) {
            System.out.println("cannot open or read the environment: " + e);
            return 1;
        }
    }
}
